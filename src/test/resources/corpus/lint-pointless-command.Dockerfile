FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR /app
# expect: pointless-command
RUN service cron start
WORKDIR /app
RUN ps2pdf --version || true
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
