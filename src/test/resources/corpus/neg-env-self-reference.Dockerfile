# ENV that defines several variables uses only ones set before it (an earlier ENV, an ARG), not one of its own.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
ARG APP_VERSION=1.4.2
ENV APP_HOME=/srv/app
# quiet: env-self-reference
ENV APP_CONFIG=$APP_HOME/etc/app.yaml APP_DATA=$APP_HOME/data PATH=$APP_HOME/bin:$PATH
# quiet: env-self-reference
ENV APP_VERSION=$APP_VERSION APP_RELEASE=app-$APP_VERSION
HEALTHCHECK CMD ["/bin/true"]
USER 1000
