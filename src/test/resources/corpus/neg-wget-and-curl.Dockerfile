# One download tool: wget in the build and in the health check, and the base's curl purged rather than used.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: wget-and-curl
RUN apt-get update && apt-get install -y --no-install-recommends wget=1.21.3-1+b2 && apt-get purge -y --auto-remove curl && rm -rf /var/lib/apt/lists/*
# quiet: wget-and-curl
RUN wget -q -O /tmp/otelcol.tar.gz https://downloads.corp.example/otelcol/0.108.0/otelcol_0.108.0_linux_amd64.tar.gz && echo "4f2a9c7e1b3d5f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a  /tmp/otelcol.tar.gz" > /tmp/otelcol.sha256 && sha256sum -c /tmp/otelcol.sha256 && tar -xzf /tmp/otelcol.tar.gz -C /usr/local/bin otelcol && rm /tmp/otelcol.tar.gz /tmp/otelcol.sha256
COPY bin/app /usr/local/bin/app
# quiet: wget-and-curl
HEALTHCHECK --interval=30s CMD wget -q --spider http://localhost:8080/healthz || exit 1
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
