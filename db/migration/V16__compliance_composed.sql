-- OpenSCAP composed over a base's evaluation (issue #13, docs/scanning.md "Composed over the base's evaluation"): the
-- base evaluation a scan's compliance result rests on, as JSON {"baseLayers": n, "baseKey": "<hex>", "contents":
-- [...]}; null when the whole root filesystem was evaluated. The base's ARF reports are stored with the scan's own
-- in image_compliance_arf, their content names prefixed "base:".
alter table image_scan add column compliance_base text;
