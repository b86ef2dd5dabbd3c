# syntax=docker/dockerfile:1.7
FROM ubuntu:24.04

ARG DEBIAN_FRONTEND=noninteractive

RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt,sharing=locked <<EOF
set -euo pipefail
rm -f /etc/apt/apt.conf.d/docker-clean
apt-get update
apt-get install -y --no-install-recommends \
    ca-certificates \
    postgresql-client-16 \
    python3 \
    python3-venv \
    cron
EOF

RUN <<EOF bash
set -euo pipefail
python3 -m venv /opt/backup
/opt/backup/bin/pip install --no-cache-dir boto3==1.35.24 psycopg==3.2.2
useradd --system --create-home --home-dir /var/lib/backup backup
install -d -o backup -g backup -m 0750 /var/lib/backup/spool
EOF

COPY --chmod=0755 <<'EOF' /usr/local/bin/run-backup
#!/bin/bash
set -euo pipefail
stamp=$(date -u +%Y%m%dT%H%M%SZ)
pg_dump --format=custom --no-owner "$DATABASE_URL" > "/var/lib/backup/spool/db-$stamp.dump"
/opt/backup/bin/python /usr/local/lib/upload.py "/var/lib/backup/spool/db-$stamp.dump"
find /var/lib/backup/spool -type f -mtime +2 -delete
EOF

COPY <<'EOF' /usr/local/lib/upload.py
import os, sys, boto3
bucket = os.environ["BACKUP_BUCKET"]
path = sys.argv[1]
boto3.client("s3").upload_file(path, bucket, os.path.basename(path))
EOF

COPY <<EOF /etc/cron.d/backup
15 2 * * * backup /usr/local/bin/run-backup >> /var/lib/backup/backup.log 2>&1
EOF

USER backup
WORKDIR /var/lib/backup
CMD ["/usr/local/bin/run-backup"]
