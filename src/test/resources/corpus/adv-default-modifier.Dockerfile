# expect: unapproved-image image-not-pinned
FROM ${EVIL:-docker.io/library/alpine:3}
USER 1000
