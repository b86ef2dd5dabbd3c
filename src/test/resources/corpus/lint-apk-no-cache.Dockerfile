FROM 127.0.0.1:5000/base/alpine:3.20@sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd
WORKDIR /app
# expect: apk-no-cache
RUN apk add jq=1.7.1-r0
WORKDIR /app
RUN apk add --no-cache curl=8.9.1-r0
WORKDIR /app
RUN --mount=type=cache,target=/var/cache/apk apk add git=2.45.2-r0
WORKDIR /app
RUN apk add tar=1.35-r2 && rm -rf /var/cache/apk/*
HEALTHCHECK --interval=30s CMD ["/app/health"]
USER 10001
