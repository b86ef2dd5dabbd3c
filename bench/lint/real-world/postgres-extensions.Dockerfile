FROM postgres:16.4-bookworm
ENV PGVECTOR_VERSION=0.7.4 \
    PG_PARTMAN_VERSION=5.1.0
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        build-essential \
        git \
        "postgresql-server-dev-$PG_MAJOR" \
        postgresql-16-cron \
        postgresql-16-postgis-3; \
    git clone --branch "v${PGVECTOR_VERSION}" --depth 1 https://github.com/pgvector/pgvector.git /tmp/pgvector; \
    make -C /tmp/pgvector OPTFLAGS=""; \
    make -C /tmp/pgvector install; \
    git clone --branch "v${PG_PARTMAN_VERSION}" --depth 1 https://github.com/pgpartman/pg_partman.git /tmp/pg_partman; \
    make -C /tmp/pg_partman NO_BGW=1 install; \
    apt-get purge -y --auto-remove build-essential git "postgresql-server-dev-$PG_MAJOR"; \
    rm -rf /tmp/pgvector /tmp/pg_partman /var/lib/apt/lists/*
COPY initdb/ /docker-entrypoint-initdb.d/
COPY postgresql.conf /etc/postgresql/postgresql.conf
CMD ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"]
