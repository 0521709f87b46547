-- Applications to offers, their documents (in their own table, never read by lists), their
-- history, and the replies kept for Idempotency-Key.

CREATE TABLE applications (
    id uuid PRIMARY KEY,
    offer_id uuid NOT NULL REFERENCES offers (id) ON DELETE RESTRICT,
    status text NOT NULL CHECK (status IN ('submitted', 'screening', 'shortlisted', 'interview',
        'offer_made', 'hired', 'rejected', 'withdrawn')),
    -- Personal data: all null once the application is erased (by the candidate or the purge).
    first_name text,
    last_name text,
    email text CHECK (email = lower(email)),
    phone text,
    school text,
    field_of_study text,
    languages jsonb,
    message text,
    cover_letter_text text,
    tracking_token_hash bytea UNIQUE,
    -- Kept after erasure, for anonymous statistics.
    education_level text,
    available_from date,
    available_until date,
    source text,
    consent_privacy boolean NOT NULL,
    privacy_notice_version text NOT NULL,
    consent_talent_pool boolean NOT NULL DEFAULT false,
    rejection_reason text,
    decided_at timestamptz,
    last_contact_at timestamptz NOT NULL,
    erased_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version integer NOT NULL DEFAULT 1
);
-- One application per email per offer (erased ones no longer count).
CREATE UNIQUE INDEX applications_offer_email_key ON applications (offer_id, email)
    WHERE email IS NOT NULL;
CREATE INDEX applications_offer_created_idx ON applications (offer_id, created_at DESC, id DESC);
CREATE INDEX applications_offer_status_idx ON applications (offer_id, status);
CREATE INDEX applications_retention_idx ON applications (decided_at) WHERE erased_at IS NULL;

CREATE TABLE application_documents (
    id uuid PRIMARY KEY,
    application_id uuid NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('cv', 'cover_letter')),
    filename text NOT NULL,
    content_type text NOT NULL,
    size integer NOT NULL,
    sha256 bytea NOT NULL,
    content bytea NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (application_id, kind)
);

-- Every move of an application: who (candidate, staff user or the system), when, why.
CREATE TABLE application_events (
    id bigserial PRIMARY KEY,
    application_id uuid NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    actor_kind text NOT NULL CHECK (actor_kind IN ('candidate', 'staff', 'system')),
    actor_id uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    from_status text,
    to_status text NOT NULL,
    reason text
);
CREATE INDEX application_events_application_idx ON application_events (application_id, id);

-- The first reply to a submission with an Idempotency-Key, replayed to retries for 24 hours.
CREATE TABLE idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    response_status integer,
    response_body jsonb,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
