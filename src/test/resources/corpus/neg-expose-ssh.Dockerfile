# EXPOSE of application ports only (HTTPS, XMPP, a UDP range): none is 22 and no range includes it.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: expose-ssh
EXPOSE 8443/tcp 5222/tcp
# quiet: expose-ssh
EXPOSE 30000-30010/udp
HEALTHCHECK CMD ["/bin/true"]
USER 1000
