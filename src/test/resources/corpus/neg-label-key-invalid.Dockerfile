# Label keys in lower-case reverse-DNS form, with '.' and '-' separators, outside Docker's namespaces.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: label-key-invalid
LABEL org.opencontainers.image.source="https://git.example.com/payments/app" org.opencontainers.image.version="1.4.2"
# quiet: label-key-invalid
LABEL com.example.team="payments" com.example.cost-center="cc-1234" com.example.tier2.on-call="payments-oncall"
HEALTHCHECK CMD ["/bin/true"]
USER 1000
