# A context with a .dockerignore, an example env file and a public key only: the context rules judge it and find
# nothing; the COPY's sources (a file, a folder, a wildcard) are all in it.
# context: Dockerfile .dockerignore app.jar config/app.yaml .env.example keys/release.pub
# quiet-file: context-secret-file context-git-directory missing-dockerignore
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: copy-source-missing
COPY app.jar *.example /app/
# quiet: copy-source-missing
COPY config/ /app/config/
HEALTHCHECK CMD ["/bin/true"]
USER 1000
