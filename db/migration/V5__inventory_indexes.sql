-- Inventory questions at scale (issue #5; measured by bench/inventory.sh, docs/benchmarks.md "Inventory queries"):
-- 100,000 images with 300 packages each is 30 million image_package rows, and the security team's questions must
-- not read them all.

-- "Images with package X" matches the binary name or the source (advisory) name. Only the source name had an index,
-- so the OR could not use one and every question read the whole table. Both now lead an index whose other columns
-- answer the question from the index alone: build_id for "which images", ecosystem and version for "which installed
-- versions" (the version filter compares those in the package's own ordering, then asks for the matching ones).
create index image_package_name_build on image_package (name, build_id) include (ecosystem, version);
create index image_package_advisory_build on image_package (advisory_name, build_id) include (ecosystem, version);
-- The source name's own index is a prefix of the new one.
drop index image_package_name;

-- "Images affected by CVE-…" looks for the id among the vulnerability's aliases, a JSON array kept as text, which a
-- LIKE '%"CVE-…"%' could only find by reading every vulnerability (a trigram index was tried: its posting lists for
-- "cve", "202…" are as long as the table). The query asks for the array to contain the id instead, from this index.
create index image_vulnerability_alias_ids on image_vulnerability using gin ((aliases::jsonb) jsonb_path_ops);

-- A deployment is stale (among other reasons) when its image has a vulnerability with a fix, and "fixable" is a
-- filter of the image list: the advisories with a fix, per build, straight from an index.
create index image_vulnerability_fixable on image_vulnerability (build_id, advisory_id) where fixed is not null;
