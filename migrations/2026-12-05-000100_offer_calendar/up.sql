-- The city's calendar (issue 16): why an offer was closed, its scheduled publication, and
-- the four-eyes approval of a draft.
ALTER TABLE offers
    ADD COLUMN closed_reason text
        CHECK (closed_reason IN ('manual', 'deadline_passed')),
    ADD COLUMN publish_at timestamptz,
    ADD COLUMN scheduled_by uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    ADD COLUMN approval text NOT NULL DEFAULT 'none'
        CHECK (approval IN ('none', 'submitted', 'approved', 'rejected')),
    ADD COLUMN submitted_by uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    ADD COLUMN submitted_at timestamptz,
    ADD COLUMN approval_decided_by uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    ADD COLUMN approval_decided_at timestamptz,
    ADD COLUMN rejection_reason text;

UPDATE offers SET closed_reason = 'manual' WHERE closed_at IS NOT NULL;

ALTER TABLE offers
    -- Only a draft waits for its publication time.
    ADD CONSTRAINT offers_publish_at_only_drafts CHECK (publish_at IS NULL OR status = 'draft'),
    ADD CONSTRAINT offers_closed_reason_when_closed
        CHECK ((closed_reason IS NULL) = (closed_at IS NULL));

-- What the calendar sweep looks for each minute.
CREATE INDEX offers_publish_due_idx ON offers (publish_at)
    WHERE status = 'draft' AND publish_at IS NOT NULL;
CREATE INDEX offers_deadline_due_idx ON offers (application_deadline)
    WHERE status = 'published';

-- One sweep queued at a time, whatever the number of instances.
CREATE UNIQUE INDEX jobs_one_offer_calendar_idx ON jobs (kind) WHERE kind = 'offer.calendar';
