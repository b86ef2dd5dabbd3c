# Names official images use for public material and versions: a GPG key's fingerprint, a public key, a passenger version, PGPASSFILE's path, a URL without a password.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: secret-in-arg-or-env
ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D PUBLIC_KEY=/etc/app/release.pub NODE_VERSION=22.11.0
# quiet: secret-in-arg-or-env
ENV PASSENGER_VERSION=6.0.23 PGPASSFILE=/run/secrets/pgpass SSH_KEY_PATH=/run/secrets/ssh
# quiet: secret-in-arg-or-env
ENV DATABASE_URL=postgres://app@db.internal:5432/app REPO_URL=https://user:${TOKEN}@git.example/r.git
HEALTHCHECK CMD ["/bin/true"]
USER 1000
