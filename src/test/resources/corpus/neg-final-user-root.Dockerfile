# The final stage ends as a non-root user, given by ARG, after a step that needed root.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
ARG APP_UID=10001
USER root
RUN useradd --system --uid ${APP_UID} --no-create-home --shell /usr/sbin/nologin app
HEALTHCHECK CMD ["/bin/true"]
# quiet: final-user-root final-user-unresolved
USER ${APP_UID}:${APP_UID}
