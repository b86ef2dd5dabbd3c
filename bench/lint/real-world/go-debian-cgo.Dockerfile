FROM golang:1.21-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsqlite3-dev=3.40.1-2+deb12u1 pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /go/src/app
COPY go.* ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -tags "sqlite_fts5 netgo" -ldflags '-extldflags "-static"' -o /usr/local/bin/notes ./cmd/notes
RUN go test ./... -count=1 -short

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
RUN groupadd -r notes && useradd -r -g notes -d /var/lib/notes -m notes
COPY --from=build /usr/local/bin/notes /usr/local/bin/notes
VOLUME ["/var/lib/notes"]
WORKDIR /var/lib/notes
USER notes
EXPOSE 7000
HEALTHCHECK CMD ["/usr/local/bin/notes", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/notes"]
CMD ["serve", "--addr", ":7000"]
