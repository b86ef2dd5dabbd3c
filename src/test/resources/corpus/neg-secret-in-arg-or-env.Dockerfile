# Configuration that is no secret under names that come close: an OAuth issuer URL, a public key's path, a Keycloak URL, PATH.
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: secret-in-arg-or-env
ARG OAUTH_ISSUER=https://sso.corp.example/realms/payments
# quiet: secret-in-arg-or-env
ENV OAUTH_ISSUER=$OAUTH_ISSUER RELEASE_PUBLIC_KEY=/etc/payments/release.pub KEYCLOAK_URL=https://sso.corp.example
# quiet: secret-in-arg-or-env
ENV PATH=/opt/payments/bin:$PATH
HEALTHCHECK CMD ["/bin/true"]
USER 1000
