# expect: unapproved-image image-not-pinned
FROM docker.io/library/golang:1.22 AS build
RUN go build -o /app .
# expect: image-not-pinned missing-healthcheck
FROM 127.0.0.1:5000/base/distroless-static:nonroot
COPY --from=build /app /app
USER nonroot
