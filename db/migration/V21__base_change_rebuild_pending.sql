-- A moved base's automatic rebuild is requested after the watch's transaction commits (a rebuild queues builds in
-- transactions of their own). Until it has been requested the change says so, and every later watch asks again:
-- before, a request that failed (the database away, say) was lost, as the next watch saw no change.
alter table base_image_change add column rebuild_pending boolean not null default false;
create index base_image_change_pending on base_image_change (ref) where rebuild_pending;
