# File modes without setuid or setgid: setuid bits removed from the base's binaries, an executable 0755, a sticky 1777 spool.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: setuid-bit
RUN chmod a-s /usr/bin/chfn /usr/bin/chsh /usr/bin/newgrp
# quiet: setuid-bit
COPY --chmod=0755 bin/app /usr/local/bin/app
# quiet: setuid-bit
RUN mkdir -p /srv/app/spool && chmod 1777 /srv/app/spool
HEALTHCHECK CMD ["/usr/local/bin/app", "health"]
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
