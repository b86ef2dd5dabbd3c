# useradd without a sparse lastlog: a high UID with --no-log-init, and a five-digit UID that needs no -l.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: useradd-high-uid
RUN groupadd --gid 1000001 batch && useradd --no-log-init --uid 1000001 --gid batch --no-create-home --shell /usr/sbin/nologin batch
COPY bin/app /usr/local/bin/app
# quiet: useradd-high-uid
RUN useradd -r -u 10001 -M -s /usr/sbin/nologin app
HEALTHCHECK CMD ["/usr/local/bin/app", "health"]
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
