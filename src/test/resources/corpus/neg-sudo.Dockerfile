# No sudo: the steps that need root run before USER switches to the app user, and the sudo package is purged, not used.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: sudo
RUN apt-get purge -y --auto-remove sudo
COPY bin/app /usr/local/bin/app
RUN useradd --no-log-init --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app
HEALTHCHECK CMD ["/usr/local/bin/app", "health"]
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
