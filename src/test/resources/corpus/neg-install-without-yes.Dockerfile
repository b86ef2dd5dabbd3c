# Package installs that never wait at a prompt: apt-get install -y, --yes, and a combined -qy.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: install-without-yes
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates=20230311 && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/app
# quiet: install-without-yes
RUN apt-get update && apt-get install --yes --no-install-recommends tzdata=2024a-0+deb12u1 && rm -rf /var/lib/apt/lists/*
ENV LANG=C.UTF-8
# quiet: install-without-yes
RUN apt-get update && apt-get -qy install --no-install-recommends libssl3=3.0.11-1~deb12u2 && rm -rf /var/lib/apt/lists/*
HEALTHCHECK CMD ["/bin/true"]
USER 1000
