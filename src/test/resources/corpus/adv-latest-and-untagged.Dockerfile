# expect: image-not-pinned image-latest-tag
FROM 127.0.0.1:5000/base/debian AS a
# expect: image-not-pinned image-latest-tag missing-healthcheck
FROM 127.0.0.1:5000/base/debian:latest
USER 1000
