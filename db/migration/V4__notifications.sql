-- Notifications to image owners (inventory.notify, docs/notifications.md). V3 belongs to the inventory tables.
--
-- One row per delivery: a notification (one notify call) is delivered to each configured channel target of its team
-- (every webhook URL, every e-mail address). The row is written in the caller's transaction, so a rolled-back change
-- notifies no one, and it is the delivery's queue entry: replicas claim due rows with FOR UPDATE SKIP LOCKED.
create table notification_delivery (
    id               uuid primary key,                 -- X-BuildGateway-Delivery; stable across retries
    notification_id  uuid          not null,           -- the "id" of the webhook body; shared by one notify call's rows
    team             varchar(63)   not null,
    channel          varchar(16)   not null check (channel in ('webhook', 'email')),
    -- Which configured destination: for a webhook the SHA-256 of its URL (the URL itself may carry a token in its
    -- query or user info, so it is not stored), for e-mail the address. Resolved against the configuration at each
    -- attempt, so the secret is never stored and a rotated secret applies to pending retries.
    endpoint         varchar(320)  not null,
    target           varchar(1024) not null,           -- shown to admins: URL without user info and query, or address
    event            varchar(100)  not null,
    subject          text,                             -- e-mail only
    body             text          not null,           -- the exact webhook JSON (signed as is) or the e-mail text
    status           varchar(16)   not null check (status in ('pending', 'delivered', 'failed')),
    attempts         integer       not null default 0,
    created_at       timestamptz   not null,
    -- Pending: when the next attempt is due; while an attempt is in flight, the end of its lease (a replica that dies
    -- mid-attempt leaves the row to be retried by another once the lease passes). Null once final.
    next_attempt_at  timestamptz,
    last_attempt_at  timestamptz,
    delivered_at     timestamptz,
    last_status_code integer,                          -- HTTP status or SMTP reply code of the last attempt
    last_error       text                              -- never holds a secret
);
-- The poller's query: due pending rows in order.
create index notification_delivery_due on notification_delivery (next_attempt_at) where status = 'pending';
-- The admin listing: newest first, by status and/or team.
create index notification_delivery_created on notification_delivery (created_at desc, id desc);
create index notification_delivery_status on notification_delivery (status, created_at desc, id desc);
create index notification_delivery_team on notification_delivery (team, created_at desc, id desc);

-- The daily digest runs once per day across all replicas: the first replica to insert the day queues the digests
-- in the same transaction; the others find the row and skip.
create table notification_digest_run (
    day        date        primary key,
    started_at timestamptz not null
);
