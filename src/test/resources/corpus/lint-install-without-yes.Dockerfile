FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR /app
# expect: install-without-yes
RUN apt-get update && apt-get install --no-install-recommends curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
RUN apt-get update && apt-get -qq install --no-install-recommends jq=1.6-2.1 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
RUN apt-get update && apt-get install -qy --no-install-recommends git=1:2.39.5-0 && rm -rf /var/lib/apt/lists/*
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
