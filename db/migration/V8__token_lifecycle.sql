-- Token lifecycle (docs/identity.md): rotation keeps the token's id, name, roles and teams and replaces its secret;
-- the previous secret keeps working until previous_secret_retires_at (the grace period), so that a CI job can switch
-- without a failed build. Only the SHA-256 of either secret is stored.

alter table api_token add column previous_secret_hash varchar(64) unique;
alter table api_token add column previous_secret_retires_at timestamptz;
alter table api_token add column previous_secret_last_used_at timestamptz;
alter table api_token add column rotated_at timestamptz;

-- The admin list of tokens about to expire.
create index api_token_expiring on api_token (expires_at) where revoked_at is null;
