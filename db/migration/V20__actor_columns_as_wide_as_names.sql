-- Who deployed and who asked for a rebuild hold a principal's name, as build.requested_by and audit_event.actor do
-- (varchar(200)): an identity provider's user name may be 150 characters, "oidc:" before it. At 128 a DEPLOYER or
-- SECURITY user with a long name got a 500 (the insert refused) instead of their record.
alter table deployment alter column deployed_by type varchar(200);
alter table rebuild alter column requested_by type varchar(200);
