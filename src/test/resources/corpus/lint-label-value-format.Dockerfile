FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: label-value-format
LABEL org.opencontainers.image.created="last tuesday"
# expect: label-value-format
LABEL org.opencontainers.image.source=git.example.com/app
# expect: label-value-format
LABEL org.opencontainers.image.revision=main
LABEL org.opencontainers.image.created="2026-11-28T12:00:00Z" \
      org.opencontainers.image.source="https://git.example.com/app" \
      org.opencontainers.image.licenses="Apache-2.0 OR MIT" \
      org.opencontainers.image.revision=0123456789abcdef0123456789abcdef01234567 \
      org.opencontainers.image.version=2.4.1
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
