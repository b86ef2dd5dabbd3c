FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS base
# expect: copy-relative-dest-without-workdir
COPY app.sh app/
COPY app.sh /app/app.sh
WORKDIR /app
COPY app.sh bin/
FROM base
COPY app.sh lib/
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
