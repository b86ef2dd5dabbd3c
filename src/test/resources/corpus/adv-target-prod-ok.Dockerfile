# target: prod
# expect: image-not-pinned
FROM 127.0.0.1:5000/base/debian:12 AS debug
USER root
# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12 AS prod
USER 1000
