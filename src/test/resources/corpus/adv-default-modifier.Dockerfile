# expect: unapproved-image image-not-pinned missing-healthcheck
FROM ${EVIL:-docker.io/library/alpine:3}
USER 1000
