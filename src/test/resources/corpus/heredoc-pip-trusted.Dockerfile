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
# expect: tls-verification-disabled package-cache-not-cleaned
RUN pip install --trusted-host pypi.internal requests==2.32.3
USER 1000:1000
CMD ["/usr/bin/app"]
