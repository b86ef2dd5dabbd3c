ARG BASE=docker.io/library/alpine:3.20
# expect: unapproved-image image-not-pinned
FROM ${BASE}
USER 1000
