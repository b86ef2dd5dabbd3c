# Working directories outside the kernel's and the host's: /bootstrap (a sibling of /boot, not inside it) and /srv/app.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: workdir-system-dir
WORKDIR /bootstrap
COPY setup/ /bootstrap/
RUN ./install.sh && rm -rf /bootstrap
# quiet: workdir-system-dir
WORKDIR /srv/app
HEALTHCHECK CMD ["/bin/true"]
USER 1000
