# Every stage has its own name, so COPY --from is unambiguous.
FROM 127.0.0.1:5000/base/golang:1.22@sha256:1212121212121212121212121212121212121212121212121212121212121212 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app
# quiet: duplicate-stage-name
FROM 127.0.0.1:5000/base/golang:1.22@sha256:1212121212121212121212121212121212121212121212121212121212121212 AS build-tools
RUN go install golang.org/x/tools/cmd/goimports@v0.19.0
# quiet: duplicate-stage-name
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS runtime
COPY --from=build /out/app /usr/local/bin/app
COPY --from=build-tools /go/bin/goimports /usr/local/bin/goimports
HEALTHCHECK CMD ["/usr/local/bin/app", "health"]
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
