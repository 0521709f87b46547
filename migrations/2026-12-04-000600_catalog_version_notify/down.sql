DROP TRIGGER catalog_version_notify ON catalog_version;
DROP FUNCTION catalog_version_notify();
