# Package installs in scripts through apt-get, the stable interface, rather than the interactive apt front end.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: apt-instead-of-apt-get
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates=20230311 tzdata=2024a-0+deb12u1 && rm -rf /var/lib/apt/lists/*
HEALTHCHECK CMD ["/bin/true"]
USER 1000
