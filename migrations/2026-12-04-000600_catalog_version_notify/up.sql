-- Each instance keeps finished public responses per catalogue version (src/public_cache.rs)
-- and learns that the version moved from this notification, sent by the transaction that
-- moved it and so delivered when (and only if) it commits. The payload is the new version.
CREATE FUNCTION catalog_version_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('catalog_version', NEW.version::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER catalog_version_notify AFTER UPDATE ON catalog_version
    FOR EACH ROW EXECUTE FUNCTION catalog_version_notify();
