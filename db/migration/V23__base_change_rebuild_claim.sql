-- The automatic rebuild of a moved base is claimed for a while instead of unflagged before it is requested (a
-- review's finding, 2026-12-07): a replica killed between the claim and the request, or a database away longer than
-- the re-flagging's retries, lost the rebuild. Now the flag is cleared only once every team's rebuild is requested;
-- a claim whose replica died lapses and the next watch takes the change again (each team's rebuild that was already
-- requested for this move is not requested twice).
alter table base_image_change add column rebuild_claimed_until timestamptz;
