ARG REGISTRY=127.0.0.1:5000
ARG DEBIAN=debian:12
# expect: image-not-pinned missing-healthcheck
FROM ${REGISTRY}/base/${DEBIAN}
ARG APP_VERSION=1.0.0
LABEL org.opencontainers.image.version="${APP_VERSION}"
COPY bin/app /usr/local/bin/app
# expect: add-url-outside-egress add-url-without-checksum
ADD https://example.com/tool.tar.gz /opt/
USER 65532
ENTRYPOINT ["/usr/local/bin/app"]
