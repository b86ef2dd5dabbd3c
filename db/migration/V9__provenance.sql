-- Signed provenance (docs/slsa.md).

-- Facts of a build's run that only the host pool knows, recorded with the build when it ends, so that the
-- provenance (and anyone reading the build later) can state them: whether the host's daemon had user-namespace
-- remapping, the network mode of the build steps, and every image the daemon pulled, by the digest it resolved.
alter table build add column userns_remap boolean;
alter table build add column network_mode varchar(16);
alter table build add column pulled_images text;   -- JSON array of {reference, digest, step}

-- One signed SLSA provenance (a DSSE envelope around an in-toto Statement) per image digest and build: written in
-- the transaction that marks the build SUCCEEDED, so a build is SUCCEEDED only with its provenance. The envelope
-- is kept as text, byte for byte as signed and served. attached_at is set once the registry holds it as the image's
-- cosign attestation (tag sha256-<hex>.att); until then attach_attempts / attach_error / next_attempt_at drive the
-- retries.
create table image_provenance (
    image_digest     varchar(71)  not null,
    build_id         uuid         not null references build (id),
    repository       varchar(255) not null,
    team             varchar(63)  not null,
    predicate_type   varchar(100) not null,
    key_id           varchar(64)  not null,
    envelope         text         not null,
    payload_digest   varchar(71)  not null,
    signed_at        timestamptz  not null,
    attached_at      timestamptz,
    attach_attempts  integer      not null default 0,
    attach_error     text,
    next_attempt_at  timestamptz,
    primary key (image_digest, build_id)
);
create index image_provenance_unattached on image_provenance (next_attempt_at) where attached_at is null;
create index image_provenance_build on image_provenance (build_id);
