FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR /app
RUN mkdir -p /app/data
# expect: consecutive-run
RUN chown 10001 /app/data
COPY app.sh /app/app.sh
RUN chmod 0755 /app/app.sh
# expect: dockerfile-canonical
RUN --mount=type=secret,id=npmrc cat /run/secrets/npmrc > /dev/null
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
