# The target stage declares no HEALTHCHECK itself but builds FROM a stage that does: the target chain has one.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS runtime
COPY bin/app /usr/local/bin/app
HEALTHCHECK --interval=30s --timeout=3s CMD ["/usr/local/bin/app", "health"]
# quiet: missing-healthcheck
FROM runtime AS release
COPY config/app.yaml /etc/app/app.yaml
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
