# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12
# expect: docker-socket run-mount-ssh
RUN --mount=type=ssh --mount=type=bind,source=/var/run/docker.sock,target=/var/run/docker.sock true
USER 1000
