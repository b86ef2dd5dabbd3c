# The documentation site: Hugo builds it, nginx-unprivileged serves it.
FROM debian:bookworm-slim AS hugo
ARG HUGO_VERSION=0.134.3
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl git \
    && rm -rf /var/lib/apt/lists/*
RUN curl -fsSL "https://github.com/gohugoio/hugo/releases/download/v${HUGO_VERSION}/hugo_extended_${HUGO_VERSION}_linux-amd64.tar.gz" \
      | tar -xz -C /usr/local/bin hugo \
    && hugo version
WORKDIR /site
COPY . .
RUN hugo --minify --gc --environment production --destination /public

FROM nginxinc/nginx-unprivileged:1.27-alpine-slim
COPY --from=hugo /public /usr/share/nginx/html
COPY <<'NGINX' /etc/nginx/conf.d/default.conf
server {
    listen       8080;
    server_name  _;
    root   /usr/share/nginx/html;
    index  index.html;
    location / {
        try_files $uri $uri/ $uri.html =404;
    }
    location ~* \.(css|js|svg|woff2)$ {
        expires 30d;
        add_header Cache-Control "public, immutable";
    }
    error_page 404 /404.html;
}
NGINX
EXPOSE 8080
