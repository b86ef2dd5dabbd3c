-- The images the policy approved a build to pull (JSON array of references, after substitution): the build daemon's
-- registry token covers these repositories only, and the host pool checks after the build that nothing else was
-- pulled (docs/security.md). Null on builds submitted before; the host pool then allows the base image alone.
alter table build add column allowed_pulls text;
