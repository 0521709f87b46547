DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP TRIGGER offers_record_change ON offers;
DROP FUNCTION offers_record_change();
DROP TABLE offer_changes;
DROP TABLE partner_rate_windows;
DROP TABLE partner_keys;
DROP TABLE partners;
