-- Issue #6, the tamper-evident audit trail: signed checkpoints of the chain's head, the SIEM export's cursor, and a
-- least-privilege role for the running gateway (docs/audit.md, docs/operations.md).
--
-- Plain SQL without Flyway placeholders, so that bench/*.sh can apply the migrations with psql as they are.

-- Any table of the trail refuses UPDATE, DELETE and TRUNCATE (the message names the table).
create or replace function audit_event_append_only() returns trigger language plpgsql as $$
begin
    raise exception '% is append-only: % refused', tg_table_name, tg_op;
end;
$$;

-- An append in one round trip: takes the chain's transaction-scoped advisory lock (the number is AuditTrail.CHAIN_LOCK,
-- "bgw_audi"), reads the head in a statement of its own (so, under READ COMMITTED, after the previous holder's
-- commit), and inserts the event with hash = SHA-256(prev_hash || canonical event). The gateway sends the canonical
-- JSON without its seq (the text before and after the seq's digits) and checks the returned hash itself. Holding the
-- lock for one statement and the commit, instead of three round trips and the commit, is what lets concurrent
-- writers through (docs/benchmarks.md). SECURITY INVOKER: the caller's own INSERT privilege applies.
create function audit_append(p_at timestamptz, p_actor varchar, p_action varchar, p_target varchar,
        p_outcome varchar, p_source_ip varchar, p_request_id varchar, p_details text,
        p_canonical_head text, p_canonical_tail text,
        out o_seq bigint, out o_hash varchar, out o_prev_hash varchar)
    language plpgsql volatile as $$
begin
    perform pg_advisory_xact_lock(7090767389858817129);
    select e.seq, e.hash into o_seq, o_prev_hash from audit_event e order by e.seq desc limit 1;
    if not found then
        o_seq := 0;
        o_prev_hash := repeat('0', 64);
    end if;
    o_seq := o_seq + 1;
    o_hash := encode(sha256(convert_to(o_prev_hash || p_canonical_head || o_seq::text || p_canonical_tail, 'UTF8')),
        'hex');
    insert into audit_event (seq, at, actor, action, target, outcome, source_ip, request_id, details, prev_hash, hash)
        values (o_seq, p_at, p_actor, p_action, p_target, p_outcome, p_source_ip, p_request_id, p_details,
                o_prev_hash, o_hash);
end;
$$;

-- The chain's head (seq, hash) at a moment, signed with the gateway's key (signing.GatewayKey). The same line goes
-- to a file (and optionally syslog) outside the database; verify compares the chain with the latest of each.
create table audit_checkpoint (
    id        bigint generated always as identity primary key,
    seq       bigint       not null,
    hash      varchar(64)  not null,
    at        timestamptz  not null,
    key_id    varchar(64)  not null,
    payload   text         not null,   -- the signed bytes (UTF-8): canonical JSON {at, hash, keyId, seq, type}
    signature text         not null,   -- base64 of the ASN.1 DER ECDSA P-256 SHA-256 signature of payload
    replica   varchar(200)
);
create index audit_checkpoint_seq on audit_checkpoint (seq);
create trigger audit_checkpoint_no_update before update or delete on audit_checkpoint
    for each row execute function audit_event_append_only();
create trigger audit_checkpoint_no_truncate before truncate on audit_checkpoint
    for each statement execute function audit_event_append_only();

-- How far each export sink (syslog, file) has delivered: the last seq sent. One row per sink; the exporting replica
-- holds the row (FOR UPDATE SKIP LOCKED) while it sends, so replicas never send the same batch at the same time.
create table audit_export_cursor (
    sink       varchar(100) primary key,
    seq        bigint       not null,
    updated_at timestamptz  not null
);

-- The application's group role: DML on the gateway's tables, but only SELECT and INSERT on the trail. NOLOGIN: a
-- login role of the operator's (with its password) is made a member. Roles are cluster-wide, so creation is guarded;
-- a DBA may also create it beforehand (then the owner running Flyway needs no CREATEROLE).
do $$
begin
    if not exists (select from pg_roles where rolname = 'build_gateway_app') then
        create role build_gateway_app nologin;
    end if;
end
$$;

do $$
declare
    s text := current_schema();
begin
    execute format('grant usage on schema %I to build_gateway_app', s);
    execute format('grant select, insert, update, delete on all tables in schema %I to build_gateway_app', s);
    execute format('grant usage, select on all sequences in schema %I to build_gateway_app', s);
    -- Tables and sequences that later migrations create (as this same owner) get the same grants.
    execute format('alter default privileges in schema %I grant select, insert, update, delete on tables'
        || ' to build_gateway_app', s);
    execute format('alter default privileges in schema %I grant usage, select on sequences to build_gateway_app', s);
    -- Flyway's own history is the owner's business.
    if to_regclass('flyway_schema_history') is not null then
        execute 'revoke all on flyway_schema_history from build_gateway_app';
    end if;
end
$$;

revoke all on audit_event, audit_checkpoint from build_gateway_app;
grant select, insert on audit_event, audit_checkpoint to build_gateway_app;
