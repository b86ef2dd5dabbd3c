# The package index updated in the RUN that installs from it, and its lists removed there too.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: update-without-install
RUN apt-get update && apt-get install -y --no-install-recommends tzdata=2024a-0+deb12u1 && rm -rf /var/lib/apt/lists/*
HEALTHCHECK CMD ["/bin/true"]
USER 1000
