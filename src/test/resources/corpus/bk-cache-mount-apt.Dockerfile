# BuildKit cache mounts on the apt cache and lists: they count as cleaning, and each id is namespaced per team.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=cache,id=apt-lists,target=/var/lib/apt,sharing=locked apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10
# expect: apt-unpinned
RUN --mount=type=cache,target=/var/cache/apt apt-get update && apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*
HEALTHCHECK --interval=30s CMD ["/usr/bin/curl", "-f", "http://localhost/"]
USER 1000
