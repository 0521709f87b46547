DROP TABLE catalog_version;
DROP FUNCTION offers_bump_catalog_version() CASCADE;
DROP TABLE offers;
DROP FUNCTION offers_search_document();
DROP TABLE gratification_minimums;
DROP TEXT SEARCH CONFIGURATION passerelle_fr;
-- unaccent stays: other objects of the database may use it.
