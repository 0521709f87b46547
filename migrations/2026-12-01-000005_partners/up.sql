-- Partner job boards: their accounts and API keys, a request counter shared by every instance
-- for their rate limit, the change feed of the public offer set (kept by a trigger on offers,
-- so no write path can forget it), and signed webhooks with the log of their deliveries.

CREATE TABLE partners (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    slug text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    contact_email text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL,
    created_by uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    updated_at timestamptz NOT NULL,
    updated_by uuid REFERENCES staff_users (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX partners_slug_key ON partners (slug);
CREATE INDEX partners_order_idx ON partners (created_at, id);

-- API keys: only a SHA-256 of the key is kept; `prefix` (`ppk_` and 8 characters) is not
-- secret and lets people tell keys apart. A rotated key keeps working until `expires_at`.
CREATE TABLE partner_keys (
    id uuid PRIMARY KEY,
    partner_id uuid NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    prefix text NOT NULL,
    key_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    created_by uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    expires_at timestamptz,
    last_used_at timestamptz
);
CREATE INDEX partner_keys_partner_idx ON partner_keys (partner_id, created_at DESC);

-- Requests per partner per fixed window, counted with an atomic upsert: every instance
-- shares the same budget.
CREATE TABLE partner_rate_windows (
    partner_id uuid NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    window_start timestamptz NOT NULL,
    requests integer NOT NULL,
    PRIMARY KEY (partner_id, window_start)
);

-- The change feed: one row each time an offer enters, changes in, or leaves the public set
-- (published offers). Rows are served in (xact_id, seq) order, and only once the writing
-- transaction is older than every running one (the reader's snapshot xmin): a transaction
-- that started first but commits last can then never slip behind a partner's cursor.
CREATE TABLE offer_changes (
    seq bigserial PRIMARY KEY,
    xact_id bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    -- No foreign key: the tombstone of a deleted offer outlives it.
    offer_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('upsert', 'tombstone')),
    reason text CHECK (reason IN ('closed', 'archived', 'unpublished', 'deleted')),
    changed_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'tombstone') = (reason IS NOT NULL))
);
CREATE INDEX offer_changes_order_idx ON offer_changes (xact_id, seq);

CREATE FUNCTION offers_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_public boolean := TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'published';
    is_public boolean := TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'published';
BEGIN
    IF TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW THEN
        RETURN NULL;
    END IF;
    IF is_public THEN
        INSERT INTO offer_changes (offer_id, kind, changed_at)
        VALUES (NEW.id, 'upsert', NEW.updated_at);
    ELSIF was_public AND TG_OP = 'DELETE' THEN
        INSERT INTO offer_changes (offer_id, kind, reason) VALUES (OLD.id, 'tombstone', 'deleted');
    ELSIF was_public THEN
        INSERT INTO offer_changes (offer_id, kind, reason, changed_at)
        VALUES (NEW.id, 'tombstone',
                CASE NEW.status WHEN 'closed' THEN 'closed' WHEN 'archived' THEN 'archived'
                                ELSE 'unpublished' END,
                NEW.updated_at);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER offers_record_change AFTER INSERT OR UPDATE OR DELETE ON offers
    FOR EACH ROW EXECUTE FUNCTION offers_record_change();

-- Offers published before the feed existed: a partner starting from the beginning gets them.
INSERT INTO offer_changes (offer_id, kind, changed_at)
SELECT id, 'upsert', updated_at FROM offers WHERE status = 'published' ORDER BY published_at, id;

-- Webhook endpoints of a partner. The signing secret is kept as is: signing needs it. It is
-- shown once, when the endpoint is registered, and never again.
CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY,
    partner_id uuid NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    url text NOT NULL,
    secret text NOT NULL,
    events jsonb NOT NULL,
    active boolean NOT NULL DEFAULT true,
    disabled_at timestamptz,
    disabled_reason text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_partner_idx ON webhook_endpoints (partner_id, created_at);

-- One event sent to one endpoint: the exact body, and how its attempts went.
CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    partner_id uuid NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    offer_id uuid NOT NULL,
    body text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    last_attempt_at timestamptz,
    last_status_code integer,
    last_error text,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL
);
CREATE INDEX webhook_deliveries_partner_idx ON webhook_deliveries (partner_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id);
