-- Controlled egress (issue #14, docs/egress.md).

-- What the policy let the build fetch, decided at submission like allowed_pulls: the team's effective egress
-- allowlist (JSON array of URL prefixes in normal form; null or [] = network none), whether the team refuses CONNECT
-- tunnels, and the earlier build of the same team whose fetches this one is pinned to (null: not pinned).
alter table build add column egress_allow text;
alter table build add column egress_refuse_tunnels boolean not null default false;
alter table build add column pin_fetches_from uuid references build (id);

-- Every plain-HTTP response the egress proxy passed to a build: the URL (normalised, never with userinfo), the
-- upstream status, and the size and SHA-256 of the body as the build received it. seq orders one build's fetches.
create table build_fetch (
    build_id   uuid         not null references build (id),
    seq        bigint       not null,
    url        text         not null,
    status     integer      not null,
    size       bigint       not null,
    sha256     varchar(64)  not null,
    fetched_at timestamptz  not null,
    primary key (build_id, seq)
);
-- "Where did this jar come from?": every build that fetched a body with this digest.
create index build_fetch_sha256 on build_fetch (sha256);

-- Every CONNECT tunnel the proxy opened for a build (https to an allowlisted host and port): bytes each way.
create table build_tunnel (
    build_id   uuid         not null references build (id),
    seq        bigint       not null,
    host       varchar(255) not null,
    port       integer      not null,
    bytes_out  bigint       not null,
    bytes_in   bigint       not null,
    opened_at  timestamptz  not null,
    primary key (build_id, seq)
);

-- Every request of a build that the proxy refused, and why.
create table build_egress_refusal (
    build_id   uuid         not null references build (id),
    seq        bigint       not null,
    url        text         not null,
    reason     text         not null,
    refused_at timestamptz  not null,
    primary key (build_id, seq)
);
