# A HEALTHCHECK CMD in shell form that verifies TLS, with cd in it (WORKDIR advice is for build steps), is clean.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
HEALTHCHECK --interval=30s CMD cd /app && curl -fsS https://localhost:8443/health || exit 1
USER 1000
