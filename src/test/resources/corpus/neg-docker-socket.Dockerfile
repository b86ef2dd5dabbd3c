# No Docker socket is mounted, copied or declared: the app's own socket folder is a VOLUME; a LABEL may name it.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: docker-socket
LABEL org.example.security.note="never mount /var/run/docker.sock into this container"
RUN mkdir -p /run/app && chown 1000:1000 /run/app
# quiet: docker-socket
VOLUME ["/run/app"]
HEALTHCHECK CMD ["/bin/true"]
USER 1000
