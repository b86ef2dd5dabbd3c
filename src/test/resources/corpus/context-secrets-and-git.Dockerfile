# A context with a private key, a .env file and the .git folder, and no .dockerignore; a COPY of a file that is not
# in it, and one that is.
# context: Dockerfile app.jar .env deploy/id_rsa deploy/id_rsa.pub .git/HEAD .git/config
# expect-file: context-secret-file context-secret-file context-git-directory missing-dockerignore
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: copy-source-missing
COPY app.jar /app/app.jar
# expect: copy-source-missing
COPY config/ /app/config/
HEALTHCHECK CMD ["/bin/true"]
USER 1000
