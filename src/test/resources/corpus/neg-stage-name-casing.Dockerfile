# Stage names in lower case, with a hyphen and a digit; COPY --from names them the same way.
# quiet: stage-name-casing
FROM 127.0.0.1:5000/base/golang:1.22@sha256:1212121212121212121212121212121212121212121212121212121212121212 AS build-env
WORKDIR /src
COPY . /src/
RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app
# quiet: stage-name-casing
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab AS runtime-v2
COPY --from=build-env /out/app /usr/local/bin/app
HEALTHCHECK CMD ["/usr/local/bin/app", "-health"]
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
