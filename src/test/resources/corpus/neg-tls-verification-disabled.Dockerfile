# TLS verification kept on while trusting the corporate CA: git with sslVerify true, Node with the extra CA and rejection on, curl with --cacert.
FROM 127.0.0.1:5000/base/node:20@sha256:9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a
COPY corp-root-ca.crt /usr/local/share/ca-certificates/corp-root-ca.crt
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates=20230311 curl=7.88.1-10+deb12u8 git=1:2.39.5-0+deb12u1 && update-ca-certificates && rm -rf /var/lib/apt/lists/*
# quiet: tls-verification-disabled
RUN git config --system http.sslVerify true && git config --system http.sslCAInfo /etc/ssl/certs/ca-certificates.crt
# quiet: tls-verification-disabled
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/corp-root-ca.crt NODE_TLS_REJECT_UNAUTHORIZED=1
WORKDIR /srv/app
COPY dist/ /srv/app/dist/
# quiet: tls-verification-disabled
HEALTHCHECK --interval=30s CMD curl -fsS --cacert /usr/local/share/ca-certificates/corp-root-ca.crt https://localhost:8443/healthz || exit 1
USER 1000
CMD ["node", "/srv/app/dist/server.js"]
