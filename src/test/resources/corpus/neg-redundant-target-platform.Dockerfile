# Cross-compilation: the build stage runs on $BUILDPLATFORM and compiles for the target; the runtime stage takes the default.
# quiet: redundant-target-platform
FROM --platform=$BUILDPLATFORM 127.0.0.1:5000/base/golang:1.22@sha256:1212121212121212121212121212121212121212121212121212121212121212 AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
COPY . /src/
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
COPY --from=build /out/app /usr/local/bin/app
HEALTHCHECK CMD ["/usr/local/bin/app", "-health"]
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
