# apt lists that do not stay in the layer: removed in the same RUN, or kept in a cache mount on /var/lib/apt.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: apt-lists-not-cleaned
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates=20230311 && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/app
# quiet: apt-lists-not-cleaned
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=cache,target=/var/lib/apt,sharing=locked apt-get update && apt-get install -y --no-install-recommends tzdata=2024a-0+deb12u1
HEALTHCHECK CMD ["/bin/true"]
USER 1000
