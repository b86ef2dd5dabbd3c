ARG IMG=docker.io/library/alpine:3
# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/${IMG##*/}
USER 1000
