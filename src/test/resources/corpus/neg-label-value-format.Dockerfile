# The well-known labels with well-formed values: RFC 3339 time, semantic version, URLs, SPDX expression, full commit hash, e-mail address.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: label-value-format
LABEL org.opencontainers.image.created="2026-03-02T09:15:00Z" org.opencontainers.image.version="2.4.1"
# quiet: label-value-format
LABEL org.opencontainers.image.source="https://git.corp.example/payments/api" org.opencontainers.image.documentation="https://docs.corp.example/payments/api/"
# quiet: label-value-format
LABEL org.opencontainers.image.licenses="Apache-2.0 OR MIT" org.opencontainers.image.revision="3f9c2e1d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"
# quiet: label-value-format
LABEL maintainer="Payments Platform <payments-platform@corp.example>"
HEALTHCHECK CMD ["/bin/true"]
USER 1000
