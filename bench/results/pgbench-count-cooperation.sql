SELECT count(*) AS count FROM offers CROSS JOIN websearch_to_tsquery('passerelle_fr', :q) AS query WHERE status = 'published' AND search @@ query;
