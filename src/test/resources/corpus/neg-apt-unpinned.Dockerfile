# apt-get install with every package pinned: an exact version, a version glob, and a local .deb file.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: apt-unpinned
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates=20230311 libssl3=3.0.* && rm -rf /var/lib/apt/lists/*
COPY packages/app-agent_1.4.2_amd64.deb /tmp/app-agent_1.4.2_amd64.deb
# quiet: apt-unpinned
RUN apt-get update && apt-get install -y --no-install-recommends /tmp/app-agent_1.4.2_amd64.deb && rm -rf /var/lib/apt/lists/* /tmp/app-agent_1.4.2_amd64.deb
HEALTHCHECK CMD ["/bin/true"]
USER 1000
