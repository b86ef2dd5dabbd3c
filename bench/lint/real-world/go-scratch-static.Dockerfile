# syntax=docker/dockerfile:1
FROM golang:1.23-alpine AS build
RUN apk add --no-cache git ca-certificates tzdata \
    && update-ca-certificates
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download && go mod verify
COPY . .
ARG VERSION=dev
ARG COMMIT=none
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
    go build -trimpath \
      -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/gatekeeper ./cmd/gatekeeper

FROM scratch
COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/gatekeeper /gatekeeper
USER 65532:65532
EXPOSE 9443
ENTRYPOINT ["/gatekeeper"]
CMD ["--config", "/etc/gatekeeper/config.yaml"]
