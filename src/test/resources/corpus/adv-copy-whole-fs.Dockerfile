# expect: image-not-pinned
FROM 127.0.0.1:5000/base/debian:12 AS tools
# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/distroless-static:nonroot
# expect: copy-whole-filesystem
COPY --from=tools / /
USER nonroot
