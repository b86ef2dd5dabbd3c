# Pipes that fail when any part fails: set -o pipefail in the RUN (busybox ash), and a SHELL of bash -o pipefail.
FROM 127.0.0.1:5000/base/alpine:3.20@sha256:3434343434343434343434343434343434343434343434343434343434343434 AS certs
# quiet: pipe-without-pipefail
RUN set -euo pipefail && find /etc/ssl/certs -name '*.pem' | sort | xargs sha256sum > /etc/ssl/certs.sha256
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY --from=certs /etc/ssl/certs.sha256 /usr/share/doc/base-certs.sha256
# quiet: pipe-without-pipefail
RUN dpkg-query -W -f='${Package}=${Version}\n' | sort > /usr/share/doc/packages.txt
HEALTHCHECK CMD ["/bin/true"]
USER 1000
