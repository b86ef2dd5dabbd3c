# COPY --parents and --exclude are labs features of the Dockerfile 1.7 frontend built into BuildKit 0.13.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: dockerfile-canonical
COPY --parents ./services/*/package.json /app/
# expect: dockerfile-canonical
COPY --exclude=*.md . /app/
COPY --link --chown=1000:1000 --chmod=0644 app.conf /app/app.conf
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 1000
