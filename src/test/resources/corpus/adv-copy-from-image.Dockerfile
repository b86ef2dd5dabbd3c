# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12
# expect: unapproved-image image-not-pinned
COPY --from=docker.io/library/busybox:1.36 /bin/busybox /bin/busybox
USER 1000
