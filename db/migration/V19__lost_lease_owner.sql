-- Issue #17: while a replica's lease recovery holds a lost build (builds.Build#takeOver), the owner whose lease
-- lapsed, kept when a recovery that died is taken over in turn, so that the decision's audit event names the replica
-- that was lost, not a recovery. The recovery's owner name is the replica's, "/recovery/" and 8 hex per take-over
-- (V18 widened lease_owner for it; the replica name is kept to 140 characters).
alter table build add column lost_lease_owner varchar(200);
