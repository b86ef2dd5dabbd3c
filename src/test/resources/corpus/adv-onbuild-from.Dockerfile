# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12
# expect: onbuild-misuse onbuild-trigger dockerfile-syntax
ONBUILD FROM docker.io/library/alpine
USER 1000
