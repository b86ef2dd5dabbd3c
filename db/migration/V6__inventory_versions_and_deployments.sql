-- Inventory questions at scale, second step (issue #5; measured by bench/inventory.sh, docs/benchmarks.md).

-- "Images with package X below version V" compares X's installed versions in X's own ordering (in Java), then asks
-- for the images holding the ones below. Finding those versions read every package row of X (half a million index
-- entries for a common source package). This table holds them: every (name, ecosystem, version) installed in some
-- scanned image, where name is a binary or a source (advisory) name, with how many image_package rows hold it (a row
-- counts once as its binary name and once as its source name, as the question matches either). ScanStore adds each
-- scan's packages in the scan's transaction. The count only chooses how the images are looked up, never the answer.
create table package_version (
    name         varchar(512) not null,
    ecosystem    varchar(64)  not null,
    version      varchar(256) not null,
    package_rows bigint       not null,
    primary key (name, ecosystem, version)
);
insert into package_version (name, ecosystem, version, package_rows)
select name, ecosystem, version, count(*)
from (select name, ecosystem, version from image_package
      union all select advisory_name, ecosystem, version from image_package) p
group by name, ecosystem, version;

-- The deployment list shows unknown provenance first: those few images, straight from an index.
create index image_unknown_provenance on image (digest) where provenance = 'unknown';

-- Every deployment names an image row (recording a deployment of a digest the gateway never built adds one with
-- provenance 'unknown'): now a constraint, so the list joins images without losing a deployment.
alter table deployment add constraint deployment_image foreign key (digest) references image (digest);
