# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12
# expect: secret-in-arg-or-env
ENV SIGNING="-----BEGIN RSA PRIVATE KEY-----"
USER 1000
