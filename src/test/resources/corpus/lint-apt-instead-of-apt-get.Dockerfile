FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
WORKDIR /app
# expect: apt-instead-of-apt-get
RUN apt update && apt install -y --no-install-recommends curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
