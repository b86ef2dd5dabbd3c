# ps in a HEALTHCHECK CMD (shell form): it runs in the container, where the process is there to see; only RUN is judged.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
RUN apt-get update && apt-get install -y --no-install-recommends procps=2:4.0.2-3 && rm -rf /var/lib/apt/lists/*
COPY bin/app /usr/local/bin/app
# quiet: pointless-command
HEALTHCHECK --interval=30s --timeout=5s CMD ps -C app -o pid= > /dev/null || exit 1
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
