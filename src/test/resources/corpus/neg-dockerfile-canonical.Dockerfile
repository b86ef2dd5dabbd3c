# What the canonical writer has to rewrite and can: a cache mount (moved into the team's namespace), a heredoc, and
# a continued RUN with a comment inside; none is refused.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: dockerfile-canonical
RUN --mount=type=cache,target=/var/cache/app,id=app-cache echo cached > /var/cache/app/marker
# quiet: dockerfile-canonical
RUN <<EOF
set -eu
echo configured > /etc/app.conf
EOF
# quiet: dockerfile-canonical
# expect: consecutive-run
RUN mkdir -p /srv/app \
    # the data folder
    && chown 1000:1000 /srv/app
HEALTHCHECK CMD ["/bin/true"]
USER 1000
