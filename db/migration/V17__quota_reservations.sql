-- Issue #17, load: a team's submissions under way on every replica (past the cheap quota check, before their row is
-- recorded), so that a replica's check before the upload counts the other replicas' as its own (docs/operations.md,
-- "Faults and recovery", and the max-queued-per-team setting). A row counts for the other replicas while its build
-- has no row yet and it has not expired: a recorded build counts as its own row, a replica that died stops counting
-- after a lease. Unlogged: the rows are hints that live seconds, not records (no WAL to write; after a crash of the
-- database the table is empty, which only sends the next submissions on to the exact count under the team's lock).
create unlogged table quota_reservation (
    ticket bigserial primary key,
    team text not null,
    build_id uuid not null,
    replica text not null,
    expires_at timestamptz not null
);
create index quota_reservation_team on quota_reservation (team, ticket);
