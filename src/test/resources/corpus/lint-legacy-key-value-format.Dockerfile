FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: legacy-key-value-format
ENV MODE production
ENV LEVEL=info
LABEL team=payments
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
