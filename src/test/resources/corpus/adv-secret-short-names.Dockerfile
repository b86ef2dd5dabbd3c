# Secrets under short or key-pair names the first name list missed (a review's finding, 2026-12-07), and a database URL with its password.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# expect: secret-in-arg-or-env secret-in-arg-or-env secret-in-arg-or-env
ENV DB_PASS=hunter22 REDIS_PASS=hunter22 PGPASS=hunter22
# expect: secret-in-arg-or-env
ARG KEYSTORE_PASS=changeit
# expect: secret-in-arg-or-env secret-in-arg-or-env secret-in-arg-or-env secret-in-arg-or-env secret-in-arg-or-env
ENV RAILS_MASTER_KEY=0123456789abcdef LICENSE_KEY=0123-4567 SSH_KEY=abc ENCRYPTION_KEY=k SESSION_KEY=s
# expect: secret-in-arg-or-env
ENV DATABASE_URL=postgres://app:pw@db.internal:5432/app
HEALTHCHECK CMD ["/bin/true"]
USER 1000
