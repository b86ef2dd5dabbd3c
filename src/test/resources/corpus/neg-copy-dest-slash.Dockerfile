# COPY and ADD with several sources into a folder: the destination ends with / (shell and JSON form).
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR /srv/app
# quiet: copy-dest-slash
COPY go.mod go.sum ./
# quiet: copy-dest-slash
COPY ["config/app.yaml", "config/logging.yaml", "/etc/app/"]
# quiet: copy-dest-slash
ADD vendor/base-layer.tar.gz vendor/extra-layer.tar.gz /opt/app/
HEALTHCHECK CMD ["/bin/true"]
USER 1000
