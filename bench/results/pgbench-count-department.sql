SELECT count(*) AS count FROM offers WHERE status = 'published' AND department = :department;
