# Stage names the builder has no other meaning for; one stage is built FROM scratch, which is its base, not its name.
# quiet: reserved-stage-name
FROM 127.0.0.1:5000/base/golang:1.22@sha256:1212121212121212121212121212121212121212121212121212121212121212 AS build
WORKDIR /src
COPY . /src/
RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app
# quiet: reserved-stage-name
FROM scratch AS artifacts
COPY --from=build /out/app /app
# quiet: reserved-stage-name
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS runtime
COPY --from=artifacts /app /usr/local/bin/app
HEALTHCHECK CMD ["/usr/local/bin/app", "-health"]
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
