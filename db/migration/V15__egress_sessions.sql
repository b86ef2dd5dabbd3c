-- Controlled egress with several replicas (issue #14 with issue #17, docs/egress.md "Several replicas"): the open
-- egress session of each running build, so that a replica that receives a build step's proxy connection for a
-- session it does not hold can relay the connection to the replica that does. One row per build (a build re-queued
-- after its replica was lost replaces the row when its new run opens a session).
--   peer_address: host:port where the other replicas reach the holding replica's egress listener
--                 (gateway.egress.peer-address)
--   secret_sha256: SHA-256 (hex) of the session's secret, never the secret; compared before any byte is relayed
--   closed_at: set when the session closes (the build ended); a row left open by a replica that died is never
--              relayed to, because a relay also needs the build RUNNING with an unexpired lease
create table egress_session (
    build_id      uuid         primary key references build (id),
    peer_address  varchar(300) not null,
    secret_sha256 varchar(64)  not null,
    opened_at     timestamptz  not null,
    closed_at     timestamptz
);
