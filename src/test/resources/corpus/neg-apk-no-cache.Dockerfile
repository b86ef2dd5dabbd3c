# apk add that keeps the package index out of the layer: --no-cache, a cache mount, or removing /var/cache/apk.
FROM 127.0.0.1:5000/base/alpine:3.19@sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd
# quiet: apk-no-cache
RUN apk add --no-cache ca-certificates=20240226-r0 tzdata=2024a-r0
WORKDIR /srv/app
# quiet: apk-no-cache
RUN --mount=type=cache,target=/var/cache/apk apk add libstdc++=13.2.1_git20231014-r0
ENV LANG=C.UTF-8
# quiet: apk-no-cache
RUN apk add --virtual .run-deps icu-libs=74.1-r0 && rm -rf /var/cache/apk/*
HEALTHCHECK CMD ["/bin/true"]
USER 1000
