# expect: reserved-stage-name
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS context
RUN true
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS contexts
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
