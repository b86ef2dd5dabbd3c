# expect: image-not-pinned
FROM 127.0.0.1:5000/base/debian:12 AS app
# expect: image-not-pinned duplicate-stage-name missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12 AS app
USER 1000
