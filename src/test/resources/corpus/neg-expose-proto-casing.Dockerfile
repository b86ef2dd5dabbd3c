# EXPOSE with protocols in lower case.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: expose-proto-casing
EXPOSE 8080/tcp 8125/udp
# quiet: expose-proto-casing
EXPOSE 9100-9102/tcp 5060/sctp
HEALTHCHECK CMD ["/bin/true"]
USER 1000
