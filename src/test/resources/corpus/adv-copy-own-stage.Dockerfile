# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12 AS app
# expect: copy-from-own-stage
COPY --from=app /a /b
USER 1000
