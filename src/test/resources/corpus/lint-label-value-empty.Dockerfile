FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
ARG VERSION=1.0.0
# expect: label-value-empty
LABEL org.opencontainers.image.description=""
LABEL org.opencontainers.image.title=app org.opencontainers.image.version=$VERSION
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
