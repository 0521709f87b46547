-- The floor of any ranking on offers: the ids of every match of :q (a quoted literal), read through the GIN index, with no rank and no sort.
SELECT offers.id FROM offers CROSS JOIN websearch_to_tsquery('passerelle_fr', :q) AS query WHERE status = 'published' AND search @@ query;
