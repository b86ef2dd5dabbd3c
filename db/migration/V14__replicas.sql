-- Issue #17, faults: a build whose replica was lost is re-queued at most once, and only when nothing of it reached
-- the registry (docs/operations.md, "Faults and recovery"). attempts counts the runs a build was given.
alter table build add column attempts integer not null default 1;

-- The policy in force as the replicas agreed on it: a replica that sees the policy files change records the change
-- (its policy.loaded or policy.load-failed audit event) only if it moves this row, so N replicas watching one policy
-- folder record each change once, not N times. One row (id = 1).
create table policy_head (
    id integer primary key check (id = 1),
    digest text not null,
    failed_digest text,
    changed_at timestamptz not null
);
