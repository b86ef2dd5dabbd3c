-- What the daemon built, beside what was uploaded: the gateway re-packs every accepted context from its own
-- inspection, with its own canonical Dockerfile (docs/security.md, "Canonical input"). context_digest stays the
-- upload's digest (rebuilds start from it); built_context_digest is the tar the daemon received. Null for builds
-- recorded before this version, and for REJECTED builds (nothing was built).
alter table build add column built_context_digest varchar(71);
alter table build add column built_context_size bigint;
create index build_built_context on build (built_context_digest) where built_context_digest is not null;
