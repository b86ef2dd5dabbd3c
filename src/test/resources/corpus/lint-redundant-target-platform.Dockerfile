# expect: redundant-target-platform
FROM --platform=$TARGETPLATFORM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS a
RUN true
FROM --platform=$BUILDPLATFORM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
