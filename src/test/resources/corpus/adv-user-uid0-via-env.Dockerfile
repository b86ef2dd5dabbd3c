# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12
ENV UID=0 GID=0
# expect: final-user-root
USER $UID:$GID
