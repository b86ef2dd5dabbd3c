# WORKDIR sets where RUN works instead of cd; a HEALTHCHECK may cd, as it runs in the container, not the build.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR /srv/app
COPY scripts/ /srv/app/scripts/
# quiet: cd-in-run
RUN ./scripts/prepare-dirs.sh /srv/app/data
# quiet: cd-in-run
HEALTHCHECK CMD cd /srv/app && ./scripts/healthcheck.sh
USER 1000
