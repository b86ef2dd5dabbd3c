FROM rust:1.79-bookworm AS base
ENV CARGO_TERM_COLOR=always \
    CARGO_INCREMENTAL=0 \
    RUSTFLAGS="-C target-cpu=x86-64-v2"
RUN rustup component add clippy rustfmt \
 && cargo install --locked cargo-nextest@0.9.72 cargo-deny@0.14.24
WORKDIR /ws

FROM base AS check
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/ws/target \
    cargo fmt --all -- --check \
 && cargo clippy --workspace --all-targets -- -D warnings \
 && cargo deny check licenses bans \
 && cargo nextest run --workspace --profile ci

FROM base AS release
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/ws/target \
    cargo build --workspace --release \
 && install -D -m 0755 target/release/indexer /dist/indexer \
 && install -D -m 0755 target/release/query /dist/query

FROM gcr.io/distroless/cc-debian12
COPY --from=release /dist/ /usr/local/bin/
USER nonroot
ENTRYPOINT ["/usr/local/bin/query"]
