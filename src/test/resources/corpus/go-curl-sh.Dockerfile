# expect: image-not-pinned
FROM 127.0.0.1:5000/base/golang:1.22 AS build
WORKDIR /go/src/app
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app
# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/distroless-static:nonroot
COPY --from=build /out/app /app
# expect: curl-pipe-shell pipe-without-pipefail
RUN curl -fsSL https://get.example.com/install.sh | sh
USER nonroot:nonroot
ENTRYPOINT ["/app"]
