# target: debug
# expect: image-not-pinned
FROM 127.0.0.1:5000/base/debian:12 AS prod
USER 1000
# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12 AS debug
# expect: final-user-root
USER root
