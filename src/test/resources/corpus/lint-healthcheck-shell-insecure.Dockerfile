# HEALTHCHECK CMD in shell form runs a shell command in the container: it is judged like a RUN.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: tls-verification-disabled
HEALTHCHECK --interval=30s CMD curl -k https://localhost:8443/health || exit 1
USER 1000
