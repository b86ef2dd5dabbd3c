# Absolute working directories: a literal path, one from an ENV holding an absolute path, and a quoted path.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: relative-workdir
WORKDIR /srv/app
ENV APP_DATA=/var/lib/app
# quiet: relative-workdir
WORKDIR $APP_DATA
# quiet: relative-workdir
WORKDIR "/opt/app/config"
HEALTHCHECK CMD ["/bin/true"]
USER 1000
