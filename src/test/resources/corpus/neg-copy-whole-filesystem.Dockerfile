# COPY --from takes only what the final image needs: the built binary and its folder of assets, not /.
FROM 127.0.0.1:5000/base/golang:1.22@sha256:1212121212121212121212121212121212121212121212121212121212121212 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app
FROM 127.0.0.1:5000/base/debian:12@sha256:abababababababababababababababababababababababababababababababab
# quiet: copy-whole-filesystem
COPY --from=build /out/app /usr/local/bin/app
# quiet: copy-whole-filesystem
COPY --from=build /src/web/static/ /srv/app/static/
HEALTHCHECK CMD ["/usr/local/bin/app", "health"]
USER 10001
ENTRYPOINT ["/usr/local/bin/app"]
