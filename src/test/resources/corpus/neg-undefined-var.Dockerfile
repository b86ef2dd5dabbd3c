# Variables declared where they are used: a global ARG declared again in the stage, an ENV, PATH from the base, and ENV inherited by a stage built FROM this one.
ARG APP_VERSION=2.4.1
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS base
ARG APP_VERSION
ENV APP_HOME=/srv/app
# quiet: undefined-var
LABEL org.opencontainers.image.version=$APP_VERSION
# quiet: undefined-var
WORKDIR $APP_HOME
# quiet: undefined-var
ENV PATH=$APP_HOME/bin:$PATH
FROM base AS release
# quiet: undefined-var
COPY bin/ $APP_HOME/bin/
HEALTHCHECK CMD ["/srv/app/bin/app", "health"]
USER 10001
ENTRYPOINT ["/srv/app/bin/app"]
