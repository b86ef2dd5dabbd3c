-- The FROM bases among a build's approved pulls, as pulled (pinned by the digest the policy read: name:tag@sha256:…).
-- The post-build check holds each stage's FROM in BuildKit's trace to these only, not to an image a COPY --from or a
-- mount copies from under the same name (a digest the Dockerfile names there was never judged as a base).
-- Null on rows older than this: the check then takes every pull of the name, as before.
alter table build add column base_pulls text;
