-- Reviewers assigned to offers, the scorecard of each offer, reviews and declared conflicts
-- of interest.

CREATE TABLE offer_reviewers (
    offer_id uuid NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    reviewer_id uuid NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    assigned_at timestamptz NOT NULL,
    assigned_by uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    PRIMARY KEY (offer_id, reviewer_id)
);
CREATE INDEX offer_reviewers_reviewer_idx ON offer_reviewers (reviewer_id);

-- Per offer: whether reviewers see who the candidates are.
CREATE TABLE offer_review_settings (
    offer_id uuid PRIMARY KEY REFERENCES offers (id) ON DELETE CASCADE,
    blind boolean NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by uuid REFERENCES staff_users (id) ON DELETE SET NULL
);

CREATE TABLE review_criteria (
    offer_id uuid NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    key text NOT NULL,
    label text NOT NULL,
    weight integer NOT NULL CHECK (weight BETWEEN 1 AND 10),
    position integer NOT NULL,
    PRIMARY KEY (offer_id, key)
);

CREATE TABLE reviews (
    id uuid PRIMARY KEY,
    application_id uuid NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    reviewer_id uuid NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    -- {"<criterion key>": 1..5}
    scores jsonb NOT NULL,
    recommendation text NOT NULL CHECK (recommendation IN ('strong_no', 'no', 'yes', 'strong_yes')),
    comment text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (application_id, reviewer_id)
);
CREATE INDEX reviews_reviewer_idx ON reviews (reviewer_id);

CREATE TABLE review_conflicts (
    application_id uuid NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    reviewer_id uuid NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    declared_at timestamptz NOT NULL,
    PRIMARY KEY (application_id, reviewer_id)
);
CREATE INDEX review_conflicts_reviewer_idx ON review_conflicts (reviewer_id);
