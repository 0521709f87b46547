-- The exact total of GET /api/v1/offers on a cache miss (model.rs public_count).
SELECT count(*) AS count FROM offers WHERE status = 'published';
