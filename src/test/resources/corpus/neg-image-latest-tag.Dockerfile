# Images that name a version: a tag with a digest, and a version tag alone (that one is only not pinned).
# quiet: image-latest-tag
FROM 127.0.0.1:5000/base/golang:1.22@sha256:1212121212121212121212121212121212121212121212121212121212121212 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app
# expect: image-not-pinned
# quiet: image-latest-tag
FROM 127.0.0.1:5000/base/debian:12
COPY --from=build /out/app /usr/local/bin/app
HEALTHCHECK CMD ["/usr/local/bin/app", "health"]
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
