FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS tools
RUN true
# expect: stage-name-casing
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS Runtime
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
