-- Issue #17: a replica recovering a lost build takes the build's lease over under a name of its own (the replica's
-- lease owner name and "/recovery"), so the column holds the replica's name (a pod's name, up to 150 characters
-- kept), its random suffix and that ending.
alter table build alter column lease_owner type varchar(200);
