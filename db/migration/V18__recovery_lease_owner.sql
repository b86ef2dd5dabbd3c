-- Issue #17: a replica recovering a lost build takes the build's lease over under a name of its own (the replica's
-- lease owner name, "/recovery" and a suffix per take-over), so the column holds the replica's name (a pod's name,
-- up to 140 characters kept), its random suffix and that ending. While a recovery holds the build,
-- lost_lease_owner keeps the owner whose lease lapsed (also when a recovery that died is taken over in turn), so
-- that the decision's audit event names the replica that was lost.
alter table build alter column lease_owner type varchar(200);
alter table build add column lost_lease_owner varchar(200);
