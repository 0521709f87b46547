-- Candidate privacy (issue 11, items 11, 12, 15 and 16).

-- Mail jobs know the application they are about, so that erasing an application deletes
-- exactly its mails: not every mail to its address (which anyone may type), and also those
-- already sent to a previous address. Null for jobs about no application.
ALTER TABLE jobs ADD COLUMN application_id uuid REFERENCES applications (id) ON DELETE CASCADE;
CREATE INDEX jobs_application_idx ON jobs (application_id) WHERE application_id IS NOT NULL;

-- Mails queued before this migration: the confirmation and the rejection are to the
-- candidate's address about the offer named in the subject; the contact's notification
-- names the application in its text.
UPDATE jobs j SET application_id = a.id
FROM applications a JOIN offers o ON o.id = a.offer_id
WHERE j.kind = 'email' AND j.application_id IS NULL AND a.erased_at IS NULL
  AND j.payload ->> 'kind' IN ('application_received', 'application_rejected')
  AND j.payload ->> 'to' = a.email
  AND j.payload ->> 'subject' = 'Votre candidature : ' || o.title;
UPDATE jobs j SET application_id = a.id
FROM applications a
WHERE j.kind = 'email' AND j.application_id IS NULL
  AND j.payload ->> 'kind' = 'application_notification'
  AND strpos(j.payload ->> 'text', a.id::text) > 0;

-- A candidate's change of address waits here until the new address is confirmed with the
-- code mailed to it: one pending change per application, single use, until `expires_at`.
-- Only a SHA-256 of the code is kept.
CREATE TABLE email_changes (
    application_id uuid PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    new_email text NOT NULL CHECK (new_email = lower(new_email)),
    code_hash bytea NOT NULL UNIQUE,
    requested_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX email_changes_expires_idx ON email_changes (expires_at);

-- `source` is now a slug (`[a-z0-9_-]`, 1 to 64 characters, lower-cased on input): it stays
-- in the anonymous trace of an erased application, so it may not carry free text. Sources
-- already stored are lower-cased and trimmed when that makes a slug, else forgotten.
UPDATE applications SET source = lower(btrim(source))
WHERE source IS NOT NULL AND source <> lower(btrim(source))
  AND lower(btrim(source)) ~ '^[a-z0-9][a-z0-9_-]{0,63}$';
UPDATE applications SET source = NULL
WHERE source IS NOT NULL AND source !~ '^[a-z0-9][a-z0-9_-]{0,63}$';

-- What erasure now also removes, removed from applications erased before: reviewers'
-- comments (they may name the candidate; the scores stay) and pending mails.
UPDATE reviews SET comment = ''
WHERE comment <> ''
  AND application_id IN (SELECT id FROM applications WHERE erased_at IS NOT NULL);
DELETE FROM jobs
WHERE application_id IN (SELECT id FROM applications WHERE erased_at IS NOT NULL);

-- A reply kept for Idempotency-Key held the tracking token in clear: only the application's
-- id is kept now, and a replay answers without the token.
UPDATE idempotency_keys
SET response_body = jsonb_build_object('application_id', response_body -> 'application' -> 'id')
WHERE response_body ? 'tracking_token';
