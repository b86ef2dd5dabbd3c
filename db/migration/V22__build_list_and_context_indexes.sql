-- Indexes for queries that read the build table, which gains a row per build (a review's finding, 2026-12-07):
-- the check whether a rejected or refused submission's context is still named by another build
-- (BuildRepository.existsByContextDigestAndStatusNot) and context retention's "needed" set read every row;
-- GET /api/v1/builds filtered by status or requester only, or not filtered (an admin), sorted the whole table.
create index build_context on build (context_digest);
create index build_newest on build (requested_at desc, id desc);
create index build_status_newest on build (status, requested_at desc, id desc);
create index build_requester_newest on build (requested_by, requested_at desc, id desc);
