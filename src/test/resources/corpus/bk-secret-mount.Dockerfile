# A secret mount needs a client session the gateway never passes: refused with what to do instead.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: dockerfile-canonical
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
