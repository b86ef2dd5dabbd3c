# Every pulled image pinned by digest: the bases in FROM and an image in COPY --from.
# quiet: image-not-pinned
FROM 127.0.0.1:5000/base/golang:1.22@sha256:1212121212121212121212121212121212121212121212121212121212121212 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app
# quiet: image-not-pinned
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
COPY --from=build /out/app /usr/local/bin/app
# quiet: image-not-pinned
COPY --from=127.0.0.1:5000/base/busybox:1.36@sha256:3434343434343434343434343434343434343434343434343434343434343434 /bin/busybox /usr/local/bin/busybox
HEALTHCHECK CMD ["/usr/local/bin/app", "health"]
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
