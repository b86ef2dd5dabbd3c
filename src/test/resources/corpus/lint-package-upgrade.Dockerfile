FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# A blanket upgrade, then the forms that are fine: upgrading one package on purpose, and an index update.
WORKDIR /app
# expect: package-upgrade
RUN apt-get update && apt-get -y dist-upgrade && rm -rf /var/lib/apt/lists/*
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends --only-upgrade openssl=3.0.15-1 && rm -rf /var/lib/apt/lists/*
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
