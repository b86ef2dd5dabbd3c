# The Docker secrets convention: a variable that says where a secret is mounted, not the secret. A value that is no path stays suspect.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: secret-in-arg-or-env
ENV POSTGRES_PASSWORD_FILE=/run/secrets/db_password
# quiet: secret-in-arg-or-env
ARG GITHUB_TOKEN_PATH
# expect: secret-in-arg-or-env
ENV DB_PASSWORD_FILE=hunter2
HEALTHCHECK CMD ["/bin/true"]
USER 1000
