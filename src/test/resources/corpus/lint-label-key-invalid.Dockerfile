FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: label-key-invalid
LABEL com.docker.compose.project=x
# expect: label-key-invalid
LABEL Owner=payments
LABEL org.opencontainers.image.title=app team-name=payments
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
