# Only --network=none says what the step gets.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: run-network-host
RUN --network=default make
RUN --network=none make test
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
