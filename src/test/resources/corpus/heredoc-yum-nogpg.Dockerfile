# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12
RUN <<EOF
set -eu
apt-get update
apt-get install -y --no-install-recommends ca-certificates=20230311
rm -rf /var/lib/apt/lists/*
EOF
COPY <<EOF /etc/app.conf
listen = 8080
EOF
# expect: signature-verification-disabled package-cache-not-cleaned
RUN yum install -y --nogpgcheck tool-1.0
USER 1000:1000
CMD ["/usr/bin/app"]
