# apt-get install without recommended packages: --no-install-recommends, or the APT::Install-Recommends option.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: apt-no-install-recommends
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates=20230311 && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/app
# quiet: apt-no-install-recommends
RUN apt-get update && apt-get install -y -o APT::Install-Recommends=false tzdata=2024a-0+deb12u1 && rm -rf /var/lib/apt/lists/*
HEALTHCHECK CMD ["/bin/true"]
USER 1000
