FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR /app
# expect: pipe-without-pipefail
RUN tar -cf - /etc | gzip > /tmp/etc.tgz
WORKDIR /app
RUN set -o pipefail && tar -cf - /etc | gzip > /tmp/etc2.tgz
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN tar -cf - /usr/share/doc | gzip > /tmp/doc.tgz
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
