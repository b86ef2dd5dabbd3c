# EXPOSE of valid ports: a bare port, with a protocol, a range, and the highest port.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: invalid-port
EXPOSE 8080 8443/tcp 8125/udp
# quiet: invalid-port
EXPOSE 30000-30010/udp 65535
HEALTHCHECK CMD ["/bin/true"]
USER 1000
