# syntax=docker/dockerfile:1.7
# expect-at 1: dockerfile-canonical image-not-pinned
# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12
USER 1000
