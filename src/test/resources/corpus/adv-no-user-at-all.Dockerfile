# expect: image-not-pinned final-user-root missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12
RUN true
