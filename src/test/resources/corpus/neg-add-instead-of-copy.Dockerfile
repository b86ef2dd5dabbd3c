# ADD where it is the right tool: local archives that ADD unpacks (a plain file would take COPY).
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR /opt/app
# quiet: add-instead-of-copy
ADD vendor/rootfs-overlay.tar.gz /opt/app/
# quiet: add-instead-of-copy
ADD --chown=1000:1000 assets/fonts.tar.xz /usr/share/fonts/app/
COPY app.conf /etc/app/app.conf
HEALTHCHECK CMD ["/bin/true"]
USER 1000
