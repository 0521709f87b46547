-- The exact total of GET /api/v1/offers?department=... on a cache miss.
SELECT count(*) AS count FROM offers WHERE status = 'published' AND department = :department;
