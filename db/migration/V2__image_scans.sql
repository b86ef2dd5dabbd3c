-- Post-build verification and scanning (issue #4): one scan per build whose image was built, whether it was pushed
-- or refused; the packages of its SBOM; imported OSV advisories; and the vulnerabilities matched between them.

alter table build add column base_image varchar(512);
alter table build add column image_id varchar(71);

create table image_scan (
    build_id          uuid primary key references build (id),
    image_id          varchar(71)  not null,
    image_digest      varchar(71),
    repository        varchar(255) not null,
    tag               varchar(128) not null,
    team              varchar(64)  not null,
    scanned_at        timestamptz  not null,
    passed            boolean      not null,
    policy_digest     varchar(71)  not null,
    base_image        varchar(512),
    base_image_id     varchar(71),
    base_layers       integer      not null,
    config            text         not null,
    findings          text         not null,
    distro            varchar(128),
    sbom              text         not null,
    compliance_status varchar(16)  not null,
    compliance_rules  text         not null,
    compliance_message text,
    timings           text         not null
);
create index image_scan_digest on image_scan (image_digest);
create index image_scan_image_id on image_scan (image_id);

-- One OpenSCAP ARF report per content file evaluated (config/compliance/*-xccdf.xml, *-ds.xml).
create table image_compliance_arf (
    build_id uuid         not null references image_scan (build_id) on delete cascade,
    content  varchar(255) not null,
    arf      bytea        not null,
    primary key (build_id, content)
);

create table image_package (
    build_id      uuid         not null references image_scan (build_id) on delete cascade,
    type          varchar(16)  not null,
    ecosystem     varchar(64)  not null,
    name          varchar(512) not null,
    advisory_name varchar(512) not null,
    version       varchar(256) not null,
    purl          text,
    location      text         not null
);
create index image_package_build on image_package (build_id);
create index image_package_name on image_package (advisory_name);

create table advisory (
    id          varchar(128) primary key,
    modified    timestamptz  not null,
    published   timestamptz,
    withdrawn   timestamptz,
    aliases     text         not null,
    summary     text,
    severity    varchar(16)  not null,
    document    text         not null,
    imported_at timestamptz  not null
);

create table advisory_package (
    advisory_id varchar(128) not null references advisory (id) on delete cascade,
    ecosystem   varchar(64)  not null,
    name        varchar(512) not null
);
create index advisory_package_name on advisory_package (name);

create table image_vulnerability (
    build_id    uuid         not null references image_scan (build_id) on delete cascade,
    advisory_id varchar(128) not null,
    aliases     text         not null,
    ecosystem   varchar(64)  not null,
    package     varchar(512) not null,
    installed   varchar(256) not null,
    fixed       varchar(256),
    severity    varchar(16)  not null,
    found_at    timestamptz  not null,
    primary key (build_id, advisory_id, package, installed)
);
create index image_vulnerability_advisory on image_vulnerability (advisory_id);
