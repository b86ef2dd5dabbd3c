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
# expect: tls-verification-disabled package-cache-not-cleaned
RUN pip install --trusted-host pypi.internal requests==2.32.3
USER nonroot:nonroot
ENTRYPOINT ["/app"]
