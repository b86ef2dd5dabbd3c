# Private dependencies vendored into the context instead of an SSH agent: the build step gets a bind mount of the context and a cache mount.
FROM 127.0.0.1:5000/base/golang:1.22@sha256:1212121212121212121212121212121212121212121212121212121212121212 AS build
WORKDIR /src
# quiet: run-mount-ssh
RUN --mount=type=bind,target=/src,readonly --mount=type=cache,target=/root/.cache/go-build CGO_ENABLED=0 go build -mod=vendor -o /out/app ./cmd/app
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
COPY --from=build /out/app /usr/local/bin/app
HEALTHCHECK CMD ["/usr/local/bin/app", "-health"]
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
