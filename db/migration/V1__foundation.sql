-- Build Gateway foundation: teams, tokens, builds (the queue lives here too) and the audit trail.

create table team (
    name        varchar(63) primary key,
    description text,
    created_at  timestamptz not null
);

create table api_token (
    id           uuid primary key,
    name         varchar(100) not null,
    secret_hash  varchar(64)  not null unique,   -- SHA-256 of the secret; the secret itself is never stored
    roles        varchar(200) not null,
    teams        text         not null,
    created_at   timestamptz  not null,
    created_by   varchar(200),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

create table build (
    id              uuid primary key,
    image           varchar(255) not null,
    tag             varchar(128) not null,
    team            varchar(63)  not null,
    status          varchar(16)  not null check (status in ('QUEUED','RUNNING','SUCCEEDED','FAILED','REJECTED','CANCELLED')),
    phase           varchar(16),
    requested_by    varchar(200) not null,
    requested_at    timestamptz  not null,
    started_at      timestamptz,
    finished_at     timestamptz,
    host            varchar(100),
    context_digest  varchar(71)  not null,
    context_size    bigint       not null,
    dockerfile      varchar(1024) not null,
    target          varchar(128),
    build_args      text         not null,   -- JSON object
    labels          text         not null,   -- JSON object
    no_cache        boolean      not null default false,
    policy_digest   varchar(71),
    findings        text         not null default '[]',  -- JSON array of findings
    image_digest    varchar(71),
    image_ref       varchar(512),
    failure_reason  text,
    rebuild_of      uuid references build(id),
    cancel_requested boolean     not null default false,
    lease_owner     varchar(100),
    lease_expires_at timestamptz
);
create index build_queue on build (requested_at) where status = 'QUEUED';
create index build_running on build (host) where status = 'RUNNING';
create index build_image on build (image, requested_at desc);
create index build_team on build (team, requested_at desc);

-- The audit trail: append-only and hash-chained. seq is dense and assigned under an advisory lock;
-- hash = SHA-256(prev_hash || canonical event) (docs/audit.md). details is the canonical JSON text, kept as text
-- (not jsonb) so that it is stored byte for byte as it was hashed.
create table audit_event (
    seq        bigint primary key,
    at         timestamptz not null,
    actor      varchar(200) not null,
    action     varchar(100) not null,
    target     varchar(1024),
    outcome    varchar(16)  not null,
    source_ip  varchar(64),
    request_id varchar(128),
    details    text         not null,
    prev_hash  varchar(64)     not null,
    hash       varchar(64)     not null
);
create index audit_event_at on audit_event (at);
create index audit_event_actor on audit_event (actor, seq);
create index audit_event_action on audit_event (action, seq);
create index audit_event_target on audit_event (target, seq);

create function audit_event_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'audit_event is append-only: % refused', tg_op;
end;
$$;
create trigger audit_event_no_update before update or delete on audit_event
    for each row execute function audit_event_append_only();
create trigger audit_event_no_truncate before truncate on audit_event
    for each statement execute function audit_event_append_only();
