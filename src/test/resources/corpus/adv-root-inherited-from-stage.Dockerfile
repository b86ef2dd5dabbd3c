# expect: image-not-pinned
FROM 127.0.0.1:5000/base/debian:12 AS base
USER root
# expect: final-user-root
USER root:root
# expect: missing-healthcheck
FROM base
RUN true
