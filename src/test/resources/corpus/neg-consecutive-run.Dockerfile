# RUN after RUN where joining is not asked for: after a long RUN, and with different flags.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates=20230311 && rm -rf /var/lib/apt/lists/*
# quiet: consecutive-run
RUN useradd --system --uid 10001 --no-create-home app
# quiet: consecutive-run
RUN --network=none mkdir -p /srv/app/data
HEALTHCHECK CMD ["/bin/true"]
USER 10001
