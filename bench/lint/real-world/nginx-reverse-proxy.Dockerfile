# Edge proxy for the staging environment: TLS with a self-signed certificate, upstreams from templates.
FROM nginx:1.25.5

ENV NGINX_ENVSUBST_OUTPUT_DIR=/etc/nginx/conf.d \
    UPSTREAM_HOST=app \
    UPSTREAM_PORT=8000 \
    CLIENT_MAX_BODY_SIZE=20m

RUN apt-get update \
  && apt-get install -y --no-install-recommends openssl \
  && rm -rf /var/lib/apt/lists/*

RUN mkdir -p /etc/nginx/certs \
  && openssl req -x509 -nodes -days 365 -newkey rsa:2048 \
     -subj "/CN=staging.example.internal" \
     -keyout /etc/nginx/certs/staging.key \
     -out /etc/nginx/certs/staging.crt \
  && chmod 0600 /etc/nginx/certs/staging.key

COPY templates/ /etc/nginx/templates/
COPY snippets/ /etc/nginx/snippets/
COPY html/ /usr/share/nginx/html/

EXPOSE 80 443
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=15s CMD curl -fsk https://localhost/healthz || exit 1
