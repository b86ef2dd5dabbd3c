# buildarg: RUNAS=root
# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12
ARG RUNAS=app
# expect: final-user-root
USER $RUNAS
