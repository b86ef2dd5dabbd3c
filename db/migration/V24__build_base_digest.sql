-- The digest of the base image's manifest (or index) whose config (ONBUILD triggers, Env) the policy read and judged
-- at submission: the build is pinned to it (its canonical Dockerfile and allowed_pulls name the base
-- name:tag@sha256:…), so the record says which image was judged, not only the tag (base_image, which the inventory
-- follows for rebuilds). Null for builds submitted before, for FROM scratch, and for bases that were not read.
alter table build add column base_digest text;
