# syntax=docker/dockerfile:1.9
FROM ghcr.io/astral-sh/uv:0.4.18 AS uv

FROM python:3.12-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-install-project --no-dev
COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

FROM python:3.12-slim-bookworm
RUN <<EOT
set -eux
apt-get update -qq
apt-get install -qq -y --no-install-recommends ca-certificates libmagic1
apt-get clean
rm -rf /var/lib/apt/lists/*
groupadd --gid 10101 worker
useradd --uid 10101 --gid worker --home-dir /app --shell /usr/sbin/nologin worker
EOT
COPY --from=build --chown=worker:worker /app /app
ENV PATH="/app/.venv/bin:$PATH"
WORKDIR /app
USER worker
STOPSIGNAL SIGTERM
CMD ["celery", "-A", "ingest.tasks", "worker", "--loglevel=INFO", "--concurrency=2"]
