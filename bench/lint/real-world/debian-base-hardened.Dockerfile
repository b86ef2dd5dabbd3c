# Company base image: Debian 12 with our CA, locale, tini and an unprivileged user. Teams build FROM this.
FROM debian:12.7-slim

ARG DEBIAN_FRONTEND=noninteractive
ARG CA_BUNDLE_URL=https://pki.example.com/ca/acme-root-2024.crt

ENV LANG=C.UTF-8 \
    LC_ALL=C.UTF-8 \
    TZ=UTC

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates=20230311 \
      curl=7.88.1-10+deb12u7 \
      tini=0.19.0-1 \
      tzdata \
      locales \
      procps \
 && curl -fsSL "${CA_BUNDLE_URL}" -o /usr/local/share/ca-certificates/acme-root.crt \
 && update-ca-certificates \
 && sed -i 's/^# *\(en_US.UTF-8\)/\1/' /etc/locale.gen \
 && locale-gen \
 && apt-get purge -y --auto-remove curl \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/* \
 && find /usr/share/doc -depth -type f ! -name copyright -delete \
 && find /usr/share/man -type f -delete

RUN groupadd --gid 10000 acme \
 && useradd --uid 10000 --gid acme --shell /usr/sbin/nologin --create-home --home-dir /home/acme acme \
 && chmod 0750 /home/acme

# Remove setuid/setgid bits that services never need.
RUN find / -xdev -perm /6000 -type f \
      \( -path /usr/bin/passwd -o -path /usr/bin/su -o -path /usr/bin/chsh -o -path /usr/bin/chfn \
         -o -path /usr/bin/newgrp -o -path /usr/bin/gpasswd -o -path /usr/bin/mount -o -path /usr/bin/umount \) \
      -exec chmod a-s {} + || true

LABEL org.opencontainers.image.vendor="ACME" \
      org.opencontainers.image.title="acme/debian" \
      org.opencontainers.image.description="Hardened Debian 12 base" \
      com.acme.owner="platform-team" \
      com.acme.support="#platform"

WORKDIR /home/acme
USER acme
ENTRYPOINT ["/usr/bin/tini", "--"]
