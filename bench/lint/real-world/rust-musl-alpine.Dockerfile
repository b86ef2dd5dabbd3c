# syntax=docker/dockerfile:1.7
FROM rust:1.80-alpine3.20 AS build
RUN apk add --no-cache musl-dev openssl-dev openssl-libs-static pkgconf
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs \
 && cargo build --release \
 && rm -rf src target/release/deps/edge_proxy*
COPY src ./src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target,sharing=locked \
    cargo build --release \
 && cp target/release/edge-proxy /edge-proxy \
 && strip /edge-proxy

FROM alpine:3.20
RUN apk add --no-cache ca-certificates=20240705-r0 \
 && addgroup -S proxy && adduser -S -G proxy proxy
COPY --from=build /edge-proxy /usr/bin/edge-proxy
USER proxy
EXPOSE 8443/tcp
HEALTHCHECK --interval=10s --timeout=1s CMD ["/usr/bin/edge-proxy", "--probe"]
ENTRYPOINT ["/usr/bin/edge-proxy"]
