# Naming another team's cache id does not reach it: the id is hashed into this build's team namespace.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
RUN --mount=type=cache,id=bgw-payments-0123456789abcdef,target=/root/.m2 mvn -o package
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
