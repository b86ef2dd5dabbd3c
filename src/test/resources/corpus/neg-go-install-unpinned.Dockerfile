# go install of a module at a version, and of the local module's own package.
FROM 127.0.0.1:5000/base/golang:1.22@sha256:1212121212121212121212121212121212121212121212121212121212121212 AS build
WORKDIR /src
# quiet: go-install-unpinned
RUN go install golang.org/x/tools/cmd/goimports@v0.19.0
COPY . .
# quiet: go-install-unpinned
RUN CGO_ENABLED=0 go install ./cmd/app
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
COPY --from=build /go/bin/app /usr/local/bin/app
HEALTHCHECK CMD ["/usr/local/bin/app", "health"]
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
