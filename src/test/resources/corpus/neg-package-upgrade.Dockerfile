# The one package with a fix upgraded at a pinned version instead of a blanket upgrade: dnf upgrade of a named package (the rpm flavour) and apt-get install --only-upgrade.
FROM 127.0.0.1:5000/base/rockylinux:9@sha256:7878787878787878787878787878787878787878787878787878787878787878 AS rpm
# quiet: package-upgrade
RUN dnf upgrade -y openssl-3.0.7-28.el9_4 && dnf clean all
COPY bin/app /usr/local/bin/app
HEALTHCHECK CMD ["/usr/local/bin/app", "health"]
USER 10001
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS deb
# quiet: package-upgrade
RUN apt-get update && apt-get install -y --no-install-recommends --only-upgrade openssl=3.0.15-1~deb12u1 libssl3=3.0.15-1~deb12u1 && rm -rf /var/lib/apt/lists/*
COPY bin/app /usr/local/bin/app
HEALTHCHECK CMD ["/usr/local/bin/app", "health"]
USER 10001
