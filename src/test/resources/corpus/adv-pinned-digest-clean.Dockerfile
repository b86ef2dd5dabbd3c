# expect: missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
USER 1000
