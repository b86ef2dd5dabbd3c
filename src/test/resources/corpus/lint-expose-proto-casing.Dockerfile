FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: expose-proto-casing
EXPOSE 8080/TCP
EXPOSE 8443/tcp 5353/udp
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
