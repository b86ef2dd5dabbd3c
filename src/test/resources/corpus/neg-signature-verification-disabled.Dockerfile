# A vendor apt repository added the safe way: its key in a keyring named by signed-by, and installs with every check on.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
COPY vendor-archive-keyring.gpg /usr/share/keyrings/vendor-archive-keyring.gpg
# quiet: signature-verification-disabled
RUN echo "deb [signed-by=/usr/share/keyrings/vendor-archive-keyring.gpg] https://apt.vendor.example/debian bookworm main" > /etc/apt/sources.list.d/vendor.list
# quiet: signature-verification-disabled
RUN apt-get update && apt-get install -y --no-install-recommends vendor-agent=4.2.1-1 && rm -rf /var/lib/apt/lists/*
HEALTHCHECK CMD ["/usr/bin/vendor-agent", "status"]
USER 1000
