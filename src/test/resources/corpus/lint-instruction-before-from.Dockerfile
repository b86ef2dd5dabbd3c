ARG BASE=127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: instruction-before-from dockerfile-canonical
LABEL team=payments
FROM ${BASE}
LABEL team=payments
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
