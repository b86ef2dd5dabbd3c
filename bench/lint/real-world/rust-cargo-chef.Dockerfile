FROM rust:1.81-slim-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.68
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
RUN apt-get update && apt-get install -y --no-install-recommends pkg-config libssl-dev \
    && rm -rf /var/lib/apt/lists/*
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin ledger

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin ledger
COPY --from=builder /app/target/release/ledger /usr/local/bin/ledger
COPY config/ /etc/ledger/
USER ledger
ENV RUST_LOG=info,ledger=debug
EXPOSE 8088
ENTRYPOINT ["/usr/local/bin/ledger"]
