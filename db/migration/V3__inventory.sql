-- Inventory (issue #5): every pushed image, where its tags pointed and when, what runs where, the approved base tags
-- the gateway watches, and the rebuilds the security team requested.

alter table image_scan add column base_digest varchar(71);

create table image (
    digest      varchar(71)  primary key,
    repository  varchar(255) not null,
    team        varchar(64),
    build_id    uuid references build (id),
    image_id    varchar(71),
    base_ref    varchar(512),
    base_digest varchar(71),
    first_seen  timestamptz  not null,
    -- 'gateway' for images the gateway built and pushed; 'unknown' for digests first seen in a deployment
    provenance  varchar(16)  not null
);
create index image_team on image (team);
create index image_repository on image (repository);
create index image_base_digest on image (base_digest);
create index image_base_ref on image (base_ref);
create index image_build on image (build_id);

-- A tag moving to a new digest closes the old row (until) and opens a new one: history, not an overwrite.
create table image_tag (
    repository varchar(255) not null,
    tag        varchar(128) not null,
    digest     varchar(71)  not null,
    since      timestamptz  not null,
    until      timestamptz,
    primary key (repository, tag, since)
);
create unique index image_tag_current on image_tag (repository, tag) where until is null;
create index image_tag_digest on image_tag (digest);

create table deployment (
    id          uuid         primary key,
    environment varchar(64)  not null,
    cluster     varchar(128) not null,
    namespace   varchar(128) not null,
    workload    varchar(255) not null,
    image_ref   varchar(600) not null,
    digest      varchar(71)  not null,
    deployed_at timestamptz  not null,
    deployed_by varchar(128) not null,
    replaced_at timestamptz
);
create unique index deployment_current on deployment (environment, cluster, namespace, workload)
    where replaced_at is null;
create index deployment_digest on deployment (digest) where replaced_at is null;

create table base_image (
    ref             varchar(512) primary key,
    digest          varchar(71),
    previous_digest varchar(71),
    changed_at      timestamptz,
    checked_at      timestamptz,
    error           text
);

create table base_image_change (
    ref        varchar(512) not null,
    old_digest varchar(71),
    new_digest varchar(71)  not null,
    changed_at timestamptz  not null
);
create index base_image_change_ref on base_image_change (ref, changed_at);

create table rebuild (
    id           uuid         primary key,
    reason       text         not null,
    requested_by varchar(128) not null,
    selector     text         not null,
    requested_at timestamptz  not null
);

create table rebuild_build (
    rebuild_id      uuid         not null references rebuild (id),
    build_id        uuid         not null references build (id),
    origin_build_id uuid         not null references build (id),
    repository      varchar(255) not null,
    tag             varchar(128) not null,
    primary key (rebuild_id, build_id)
);
