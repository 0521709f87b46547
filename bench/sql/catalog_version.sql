-- Run once per request by GET /api/v1/offers (src/offers/model.rs catalog_version).
SELECT catalog_version.version FROM catalog_version LIMIT 1;
