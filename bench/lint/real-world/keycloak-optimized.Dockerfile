# Keycloak with our providers and login theme, pre-built ("kc.sh build") so that it starts optimised.
FROM quay.io/keycloak/keycloak:25.0.6 AS builder
ENV KC_HEALTH_ENABLED=true \
    KC_METRICS_ENABLED=true \
    KC_DB=postgres \
    KC_FEATURES=token-exchange,admin-fine-grained-authz
WORKDIR /opt/keycloak
COPY --chown=keycloak:keycloak providers/*.jar /opt/keycloak/providers/
COPY --chown=keycloak:keycloak themes/acme /opt/keycloak/themes/acme
RUN /opt/keycloak/bin/kc.sh build

FROM registry.access.redhat.com/ubi9-minimal:9.4 AS certs
RUN microdnf install -y ca-certificates && microdnf clean all
COPY pki/acme-root.crt /etc/pki/ca-trust/source/anchors/
RUN update-ca-trust extract

FROM quay.io/keycloak/keycloak:25.0.6
COPY --from=builder /opt/keycloak/ /opt/keycloak/
COPY --from=certs /etc/pki /etc/pki
ENV KC_HOSTNAME=sso.example.com \
    KC_PROXY_HEADERS=xforwarded \
    KC_HTTP_ENABLED=true
USER 1000
ENTRYPOINT ["/opt/keycloak/bin/kc.sh"]
CMD ["start", "--optimized"]
