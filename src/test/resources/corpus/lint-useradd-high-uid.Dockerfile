FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR /app
# expect: useradd-high-uid
RUN useradd -u 1000000001 big
WORKDIR /app
RUN useradd -l -u 1000000002 bigger
WORKDIR /app
RUN useradd -u 10001 app
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
