# A cache mount seeded from an image pulls that image: it must be approved like a base.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: unapproved-image image-latest-tag image-not-pinned
RUN --mount=type=cache,target=/root/.m2,from=ghcr.io/evil/m2-seed,source=/m2 mvn -o package
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
