# COPY --from naming an earlier stage by name, by index, and an approved image pinned by digest.
FROM 127.0.0.1:5000/base/golang:1.22@sha256:1212121212121212121212121212121212121212121212121212121212121212 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS runtime
# quiet: copy-from-unknown-stage
COPY --from=build /out/app /usr/local/bin/app
# quiet: copy-from-unknown-stage
COPY --from=0 /src/config/app.yaml /etc/app/app.yaml
# quiet: copy-from-unknown-stage
COPY --from=127.0.0.1:5000/base/busybox:1.36@sha256:3434343434343434343434343434343434343434343434343434343434343434 /bin/busybox /usr/local/bin/busybox
HEALTHCHECK CMD ["/usr/local/bin/app", "health"]
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
