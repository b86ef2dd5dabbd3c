-- Synthetic inventory for bench/inventory.sh, set-based (generate_series), deterministic (hashes, no random()).
-- Run by psql against a database the real migrations (db/migration) have been applied to, with:
--   -v images=100000 -v pkgs=300 -v advisories=20000 -v deployments=50000
--
-- The shape, per image i (0 .. images-1): repository r = i % R (R = images / 20, so 20 pushes per repository over
-- time), push number s = i / R (0 .. 19, one every 14 days), tag 'v' || s % 4 (so each tag moves 5 times: the
-- image_tag history). Teams: 200, by repository. Bases: 40 approved base tags; 40 % of the repositories build on
-- base/debian:12, the rest spread over 39 others; every base tag moved every 5 pushes (70 days), so the images of one
-- base digest are one 5-push window: debian:12's first digest is shared by exactly images / 10 images (10,000).
-- Packages: 300 Debian packages per image, from a catalogue of 2,000 binary packages ranked by popularity: ranks 1-100
-- are the base system (every image), slots 101-200 take a window of ranks 101-400 (each in ~1/3 of images), slots
-- 201-300 a window of the long tail 401-2000 whose start is skewed towards the front (ranks near 400 in ~20 % of
-- images, those near 2000 in ~1 %). Versions '1.N-M', N moving every 4 pushes.
-- Advisories: OSV-style Debian ones on source packages; the newest 15 generations per source package are the ones
-- that images still match (the rest are fixed in versions older than anything installed). 10-32 vulnerabilities per
-- image, a third of them without a fix. Deployments: `deployments` current ones in 4 environments (prod lagging
-- furthest behind the newest push), each workload with 2 earlier (replaced) deployments; 1 % of the images deployed
-- are of unknown provenance.

\set ON_ERROR_STOP on
\timing off
select (:images / 20) as repos \gset
set session_replication_role = replica;  -- foreign-key triggers off while loading (the data is consistent by construction)
set synchronous_commit = off;
set work_mem = '256MB';

drop schema if exists bench cascade;
create schema bench;

-- ---------------------------------------------------------------------------------------------------------------
-- The package catalogue: rank -> (binary name, source name). Ranks 1-100: debian:12's base system as it is; ranks
-- 101-2000: binaries of real Debian source packages in the usual naming patterns.
create table bench.pkg (rank int primary key, name text not null, source text not null);
insert into bench.pkg
select row_number() over (), b[1], coalesce(b[2], b[1]) from (select string_to_array(x, ':') b from unnest(array[
  'libc6:glibc','libc-bin:glibc','bash','coreutils','dash','dpkg','apt','libapt-pkg6.0:apt','base-files','base-passwd',
  'bsdutils:util-linux','debconf','debian-archive-keyring','debianutils','diffutils','e2fsprogs','findutils',
  'gcc-12-base:gcc-12','gpgv:gnupg2','grep','gzip','hostname','init-system-helpers','libacl1:acl','libattr1:attr',
  'libaudit1:audit','libaudit-common:audit','libblkid1:util-linux','libbz2-1.0:bzip2','libcap-ng0:libcap-ng',
  'libcap2','libcom-err2:e2fsprogs','libcrypt1:libxcrypt','libdb5.3:db5.3','libdebconfclient0:cdebconf',
  'libext2fs2:e2fsprogs','libffi8:libffi','libgcc-s1:gcc-12','libgcrypt20','libgmp10:gmp','libgnutls30:gnutls28',
  'libgpg-error0:libgpg-error','libhogweed6:nettle','libidn2-0:libidn2','liblz4-1:lz4','liblzma5:xz-utils',
  'libmd0:libmd','libmount1:util-linux','libnettle8:nettle','libp11-kit0:p11-kit','libpam-modules:pam',
  'libpam-modules-bin:pam','libpam-runtime:pam','libpam0g:pam','libpcre2-8-0:pcre2','libseccomp2:libseccomp',
  'libselinux1:libselinux','libsemanage-common:libsemanage','libsemanage2:libsemanage','libsepol2:libsepol',
  'libsmartcols1:util-linux','libss2:e2fsprogs','libstdc++6:gcc-12','libsystemd0:systemd','libtasn1-6',
  'libtinfo6:ncurses','libudev1:systemd','libunistring2:libunistring','libuuid1:util-linux','libxxhash0:xxhash',
  'libzstd1:libzstd','login:shadow','logsave:e2fsprogs','mawk','mount:util-linux','ncurses-base:ncurses',
  'ncurses-bin:ncurses','passwd:shadow','perl-base:perl','sed','sysvinit-utils:sysvinit','tar','tzdata',
  'usr-is-merged:usrmerge','util-linux','util-linux-extra:util-linux','zlib1g:zlib','libssl3:openssl','openssl',
  'ca-certificates','adduser','libsqlite3-0:sqlite3','libkrb5-3:krb5','libgssapi-krb5-2:krb5','libk5crypto3:krb5',
  'libkrb5support0:krb5','libkeyutils1:keyutils','libcurl4:curl','curl','libnghttp2-14:nghttp2','libpsl5:libpsl'
]) x) s;
select max(rank) as base_ranks from bench.pkg \gset
insert into bench.pkg
select :base_ranks + row_number() over (order by g, v), n, src from (
  select g, v, src, case v
      when 0 then src when 1 then 'lib' || src || (g % 7 + 1) when 2 then src || '-common' when 3 then src || '-data'
      when 4 then 'lib' || src || '-dev' when 5 then src || '-bin' when 6 then src || '-utils' when 7 then src || '-doc'
      when 8 then 'python3-' || src when 9 then 'lib' || src || '-perl' when 10 then src || '-tools'
      when 11 then 'lib' || src || '-java' when 12 then src || '-dbg' else src || '-extra' end n
  from unnest(array['nginx','python3.11','libxml2','libxslt','libpng1.6','libjpeg-turbo','tiff','freetype',
    'fontconfig','cairo','pango1.0','glib2.0','gdk-pixbuf','icu','libyaml','jansson','json-c','expat','pcre3',
    'libevent','libuv1','c-ares','libssh2','libssh','openssh','git','subversion','mercurial','rsync','wget',
    'gnupg2','libgpgme','libassuan','libksba','npth','pinentry','sudo','procps','psmisc','iproute2','iputils',
    'net-tools','netbase','dnsutils','bind9','isc-dhcp','libcap2-bin','libbsd','libedit','readline','less','vim',
    'nano','file','libmagic','binutils','gcc-12','make-dfsg','autoconf','automake-1.16','libtool','pkgconf',
    'cmake','ninja-build','openjdk-17','ant','maven','nodejs','npm','ruby3.1','rubygems','php8.2','perl',
    'libdbi-perl','libwww-perl','liburi-perl','python-urllib3','python-requests','python-certifi','python-idna',
    'python-chardet','python-setuptools','python-pip','python-wheel','python-cryptography','python-cffi',
    'python-yaml','python-jinja2','python-markupsafe','postgresql-15','mariadb','redis','sqlite3','unixodbc',
    'libpq','libmysqlclient','imagemagick','ghostscript','poppler','libwebp','libheif','libde265','x265','ffmpeg',
    'libvpx','opus','libvorbis','libogg','flac','lame','libsndfile','pulseaudio','alsa-lib','libx11','libxext',
    'libxrender','libxcb','libxau','libxdmcp','mesa','libdrm','wayland','libinput','systemd','dbus','polkit',
    'avahi','cups','krb5','cyrus-sasl2','openldap','libtirpc','nfs-utils','samba','ldb','tevent','talloc',
    'tdb','libarchive','zip','unzip','p7zip','bzip2','xz-utils','zstd','lz4','brotli','nettle','gnutls28',
    'libgcrypt20','libsodium','libseccomp','apparmor','libselinux','audit','shadow','pam','cron','logrotate',
    'rsyslog','tzdata','locales','gettext','libidn','libidn2','libpsl','nghttp2','curl','openssl','ca-certificates',
    'libtasn1-6','p11-kit','sqlite3-tools','lua5.4','tcl8.6','tk8.6','guile-3.0','libffi','gmp','mpfr4','mpclib3',
    'isl','zlib','libzstd','elfutils','libunwind','gdb','strace','ltrace','valgrind']) with ordinality as u(src, g)
  cross join generate_series(0, 13) v) s
where n not in (select name from bench.pkg)
order by g, v
limit 2000 - :base_ranks;
create index on bench.pkg (name);
select count(*) as package_names, count(distinct source) as source_packages from bench.pkg;

-- source package -> dense index (for advisories)
create table bench.src as select source, (row_number() over (order by min(rank)) - 1)::int as q, min(rank) as rank
from bench.pkg group by source;
analyze bench.pkg;
analyze bench.src;
select count(*) as sources from bench.src \gset

-- ---------------------------------------------------------------------------------------------------------------
-- Bases: 40 approved base tags, each moved every 5 pushes; base_image holds where each tag points now (one move
-- after the newest images for half of them).
create table bench.base (b int primary key, ref text not null);
insert into bench.base
select b, 'registry.internal:5000/base/' || (array['debian:12','debian:12-slim','ubuntu:22.04','ubuntu:24.04',
  'python:3.11','python:3.12','node:20','node:22','eclipse-temurin:17','eclipse-temurin:21','golang:1.22',
  'nginx:1.25','redis:7','postgres:16','ruby:3.3','php:8.2','rust:1.79','haproxy:2.8','httpd:2.4','maven:3.9'])[b % 20 + 1]
  || case when b >= 20 then '-v' || (b / 20 + 1) else '' end
from generate_series(0, 39) b;
create function bench.base_digest(b int, epoch int) returns text language sql immutable
  as $$ select 'sha256:' || encode(sha256(convert_to('base/' || b || '/' || epoch, 'UTF8')), 'hex') $$;
create function bench.digest(kind text, i bigint) returns text language sql immutable
  as $$ select 'sha256:' || encode(sha256(convert_to(kind || '/' || i, 'UTF8')), 'hex') $$;
create function bench.h(i bigint, salt int) returns int language sql immutable
  as $$ select hashint8(i * 1000003 + salt) & 2147483647 $$;

-- Per image: the derived facts every table below reuses.
create table bench.img as
select i, r, s, b, 'team-' || (r % 200) as team, 'team-' || (r % 200) || '/svc-' || r as repository,
       'v' || (s % 4) as tag, md5('build/' || i)::uuid as build_id, bench.digest('image', i) as digest,
       bench.digest('config', i) as image_id, (select ref from bench.base where base.b = x.b) as base_ref,
       bench.base_digest(b, s / 5) as base_digest,
       timestamptz '2026-01-05 09:00:00+00' + s * interval '14 days' + (r % 5000) * interval '17 seconds' as at
from (select i, i % :repos as r, i / :repos as s,
             case when (i % :repos) % 10 < 4 then 0 else 1 + (i % :repos) % 39 end as b
      from generate_series(0, :images - 1) i) x;
alter table bench.img add primary key (i);
analyze bench.img;

-- ---------------------------------------------------------------------------------------------------------------
insert into build (id, image, tag, team, status, phase, requested_by, requested_at, started_at, finished_at, host,
                   context_digest, context_size, dockerfile, target, build_args, labels, no_cache, policy_digest,
                   findings, image_digest, image_ref, base_image, image_id)
select build_id, repository, tag, team, 'SUCCEEDED', null, 'ci-' || team, at - interval '3 minutes',
       at - interval '150 seconds', at, 'host-' || (i % 8), bench.digest('context', i), 40000 + i % 100000,
       'Dockerfile', null, '{}', '{"org.opencontainers.image.source":"https://git.internal/' || repository || '"}',
       false, bench.digest('policy', 1), '[]', digest, 'registry.internal:5000/' || repository || '@' || digest,
       base_ref, image_id
from bench.img;
-- A failed build after every 10th push (its tag did not move): "latest successful" has to skip it.
insert into build (id, image, tag, team, status, phase, requested_by, requested_at, started_at, finished_at, host,
                   context_digest, context_size, dockerfile, build_args, labels, findings, failure_reason, base_image)
select md5('failed/' || i)::uuid, repository, tag, team, 'FAILED', 'BUILD', 'ci-' || team, at + interval '1 day',
       at + interval '1 day 10 seconds', at + interval '1 day 90 seconds', 'host-' || (i % 8),
       bench.digest('context-f', i), 40000, 'Dockerfile', '{}', '{}', '[]', 'RUN step exited with code 1', base_ref
from bench.img where i % 10 = 3;

insert into image_scan (build_id, image_id, image_digest, repository, tag, team, scanned_at, passed, policy_digest,
                        base_image, base_image_id, base_digest, base_layers, config, findings, distro, sbom,
                        compliance_status, compliance_rules, compliance_message, timings)
select build_id, image_id, digest, repository, tag, team, at - interval '20 seconds', true, bench.digest('policy', 1),
       base_ref, bench.digest('base-config', b * 100 + s / 5), base_digest, 1 + b % 3,
       '{"User":"nobody","Entrypoint":["/usr/local/bin/svc"],"Healthcheck":{"Test":["NONE"]}}', '[]', 'debian-12',
       '{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"urn:uuid:' || build_id || '","components":[]}',
       'PASS', '[]', null, '{"layers":310,"sbom":120,"match":40,"compliance":900}'
from bench.img;

insert into image (digest, repository, team, build_id, image_id, base_ref, base_digest, first_seen, provenance)
select digest, repository, team, build_id, image_id, base_ref, base_digest, at, 'gateway' from bench.img;

insert into image_tag (repository, tag, digest, since, until)
select a.repository, a.tag, a.digest, a.at, n.at
from bench.img a left join bench.img n on n.r = a.r and n.s = a.s + 4;

insert into base_image (ref, digest, previous_digest, changed_at, checked_at, error)
select ref, bench.base_digest(b, 3 + b % 2), bench.base_digest(b, 2 + b % 2),
       timestamptz '2026-01-05 09:00:00+00' + (15 + 5 * (b % 2)) * interval '14 days', now(), null
from bench.base;
insert into base_image_change (ref, old_digest, new_digest, changed_at)
select ref, case when e > 0 then bench.base_digest(b, e - 1) end, bench.base_digest(b, e),
       timestamptz '2026-01-05 09:00:00+00' + 5 * e * interval '14 days'
from bench.base cross join generate_series(0, 3 + b % 2) e;

-- ---------------------------------------------------------------------------------------------------------------
-- image_package: pkgs rows per image, the catalogue rank of slot k of image i (distinct within an image). The rows
-- themselves are written by packages.sql, in parallel sessions, after this script.
create function bench.slot_rank(i bigint, k int) returns int language sql immutable as $$
  select case
    when k <= 100 then k
    when k <= 200 then 101 + ((k - 101) + bench.h(i, 1) % 300) % 300
    else 401 + ((k - 201) + (1600 * power((bench.h(i, 2) % 10000) / 10000.0, 2))::int) % 1600 end $$;

-- ---------------------------------------------------------------------------------------------------------------
-- Advisories: advisory a is about source package a % sources, generation a / sources (higher = newer).
create table bench.adv as
select a, q, a / :sources as g, (:advisories - 1) / :sources as gmax,
       case when a % 5 = 0 then 'DSA-' || (4000 + a / 5) || '-1' else 'DEBIAN-CVE-' || cve end as id,
       'CVE-' || cve as cve, (array['low','medium','medium','high','low','critical','medium','low'])[a % 8 + 1] as severity
from (select a, a % :sources as q, (2014 + a * 12 / :advisories) || '-' || (10000 + a) as cve
      from generate_series(0, :advisories - 1) a) x;
alter table bench.adv add primary key (a);
create index on bench.adv (q, g);
analyze bench.adv;
insert into advisory (id, modified, published, withdrawn, aliases, summary, severity, document, imported_at)
select d.id, timestamptz '2026-01-01 00:00:00+00' + d.a * interval '17 minutes', timestamptz '2014-01-01 00:00:00+00'
       + d.a * interval '4 hours', null, '["' || d.cve || '"]', 'Synthetic advisory ' || d.cve || ' in ' || s.source,
       d.severity, json_build_object('id', d.id, 'modified', '2026-01-01T00:00:00Z', 'aliases', json_build_array(d.cve),
         'affected', json_build_array(json_build_object('package', json_build_object('ecosystem', 'Debian:12',
           'name', s.source), 'ranges', json_build_array(json_build_object('type', 'ECOSYSTEM', 'events',
             json_build_array(json_build_object('introduced', '0'), json_build_object('fixed',
               '1.' || (s.rank % 40 + d.g - d.gmax + 5) || '-1')))))))::text,
       now()
from bench.adv d join bench.src s on s.q = d.q;
insert into advisory_package (advisory_id, ecosystem, name)
select d.id, 'Debian:12', s.source from bench.adv d join bench.src s on s.q = d.q;

-- image_vulnerability: 10-32 per image, each from a distinct package slot of the image and one of the newest
-- 15 generations of that package's source (a third of them without a fix yet).
select (:advisories - 1) / :sources as gmax \gset
insert into image_vulnerability (build_id, advisory_id, aliases, ecosystem, package, installed, fixed, severity,
                                 found_at)
select x.build_id, d.id, '["' || d.cve || '"]', 'Debian:12', x.name, x.installed,
       case when x.j % 3 = 2 then null else '1.' || (x.rank % 40 + x.s / 4 + 1) || '-1' end, d.severity,
       x.at - interval '20 seconds'
from (select m.build_id, m.s, m.at, j, p.name, p.rank, s.q,
             '1.' || (p.rank % 40 + m.s / 4) || '-' || (1 + (m.i + p.rank) % 3) as installed,
             (m.s / 4 + 5 * (j % 3) + j / 3) % 15 as back
      from bench.img m
      cross join generate_series(0, 31) j
      join bench.pkg p on p.rank = bench.slot_rank(m.i, least(:pkgs, 1 + (bench.h(m.i, 4) + j * 13) % 300))
      join bench.src s on s.source = p.source
      where j <= 9 + bench.h(m.i, 3) % 23) x
join bench.adv d on d.q = x.q and d.g = :gmax - x.back
order by x.build_id  -- stored together per build, as a scan writes them
on conflict do nothing;

-- ---------------------------------------------------------------------------------------------------------------
-- Deployments: workload d runs repository d % repos in one of 4 environments; prod lags behind the newest push.
-- Images of unknown provenance (1 %) are recorded as the gateway does when it sees one first.
insert into image (digest, repository, team, first_seen, provenance)
select bench.digest('foreign', d), 'docker.io/library/vendor-' || (d % 97), null,
       timestamptz '2026-03-01 00:00:00+00' + d * interval '1 minute', 'unknown'
from generate_series(0, :deployments - 1) d where d % 100 = 7;
insert into deployment (id, environment, cluster, namespace, workload, image_ref, digest, deployed_at, deployed_by,
                        replaced_at)
select md5('deployment/' || d || '/' || h)::uuid, env, 'c' || (d / 4 % 6 + 1), 'team-' || (r % 200),
       'svc-' || r || '-' || (d / :repos), img_ref, dg,
       timestamptz '2026-01-06 00:00:00+00' + (19 - lag) * interval '14 days' - h * interval '9 days'
         + (d % 997) * interval '1 minute',
       'deployer-' || (d % 13),
       case when h = 0 then null else timestamptz '2026-01-06 00:00:00+00' + (19 - lag) * interval '14 days'
         - (h - 1) * interval '9 days' + (d % 997) * interval '1 minute' end
from (select d, h, d % :repos as r, (array['prod','staging','dev','qa'])[d % 4 + 1] as env,
             case d % 4 when 0 then 2 + d % 5 when 1 then 1 + d % 3 else d % 2 end as lag
      from generate_series(0, :deployments - 1) d cross join generate_series(0, 2) h) x
cross join lateral (
  select case when d % 100 = 7 and h = 0 then bench.digest('foreign', d)
              else bench.digest('image', (19 - least(19, lag + h)) * :repos + r) end as dg) g
cross join lateral (
  select case when d % 100 = 7 and h = 0 then 'docker.io/library/vendor-' || (d % 97) || ':1@' || g.dg
              else 'registry.internal:5000/team-' || (r % 200) || '/svc-' || r || '@' || g.dg end as img_ref) f;

reset session_replication_role;
select (select count(*) from build) as builds, (select count(*) from image_scan) as scans,
       (select count(*) from image) as images, (select count(*) from image_tag) as image_tags,
       (select count(*) from advisory) as advisories, (select count(*) from image_vulnerability) as vulnerabilities,
       (select count(*) from deployment where replaced_at is null) as deployments_current,
       (select count(*) from deployment) as deployments_all;
