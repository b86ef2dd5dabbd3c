ARG BASE=docker.io/library/alpine:3.20
# expect: unapproved-image image-not-pinned missing-healthcheck
FROM ${BASE}
USER 1000
