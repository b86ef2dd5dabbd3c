-- image_package for bench/inventory.sh: the images i with i % :parts = :part, :pkgs rows each (slot k of image i is
-- package rank bench.slot_rank(i, k), see load.sql). Several of these run at once, one per core.
\set ON_ERROR_STOP on
set session_replication_role = replica;  -- foreign-key triggers off (every build_id has its image_scan row)
set synchronous_commit = off;
insert into image_package (build_id, type, ecosystem, name, advisory_name, version, purl, location)
select m.build_id, 'deb', 'Debian:12', p.name, p.source, v.version,
       'pkg:deb/debian/' || p.name || '@' || v.version || '?arch=amd64&distro=debian-12', '/var/lib/dpkg/status'
from bench.img m
-- per image, so that an image's rows are stored together as a scan writes them (the argument makes it per image)
cross join lateral generate_series(1, :pkgs + 0 * m.s) k
join bench.pkg p on p.rank = bench.slot_rank(m.i, k)
cross join lateral (select '1.' || (p.rank % 40 + m.s / 4) || '-' || (1 + (m.i + p.rank) % 3) as version) v
where m.i % :parts = :part;
