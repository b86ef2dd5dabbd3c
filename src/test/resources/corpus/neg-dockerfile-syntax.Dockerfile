# Constructs that parse: a continued RUN with a comment inside, quoted ENV and LABEL values, JSON arrays.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: dockerfile-syntax
RUN mkdir -p /srv/app/data \
    # the data folder belongs to the app user
    && chown 1000:1000 /srv/app/data
# quiet: dockerfile-syntax
ENV APP_GREETING="hello, world" APP_MODE=production
# quiet: dockerfile-syntax
LABEL org.opencontainers.image.title="Example app" org.opencontainers.image.description="An app with \"quotes\""
HEALTHCHECK CMD ["/bin/true"]
USER 1000
# quiet: dockerfile-syntax
CMD ["/srv/app/bin/app", "--mode", "production"]
