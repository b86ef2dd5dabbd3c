FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: workdir-system-dir
WORKDIR /dev/app
WORKDIR /srv/dev
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
