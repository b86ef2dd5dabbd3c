# buildarg: BASE=docker.io/library/alpine:3.20
ARG BASE=127.0.0.1:5000/base/debian:12
# expect: unapproved-image image-not-pinned missing-healthcheck
FROM $BASE
USER 1000
