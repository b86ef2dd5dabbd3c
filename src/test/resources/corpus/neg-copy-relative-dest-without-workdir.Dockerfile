# COPY to a relative path after WORKDIR (in the stage or the stage it builds from), and to an absolute path without.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS base
# quiet: copy-relative-dest-without-workdir
COPY config/app.yaml /etc/app/app.yaml
WORKDIR /srv/app
# quiet: copy-relative-dest-without-workdir
COPY bin/ ./bin/
FROM base AS runtime
# quiet: copy-relative-dest-without-workdir
COPY templates/ ./templates/
HEALTHCHECK CMD ["/bin/true"]
USER 1000
