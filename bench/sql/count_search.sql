-- The exact total of GET /api/v1/offers?q=... on a cache miss.
SELECT count(*) AS count FROM offers CROSS JOIN websearch_to_tsquery('passerelle_fr', :q) AS query WHERE status = 'published' AND search @@ query;
