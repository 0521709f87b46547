-- Staff accounts, their sessions and refresh tokens, login throttling and the audit log.

CREATE TABLE staff_users (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'manager', 'reviewer')),
    password_hash text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    updated_by uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT staff_users_email_lowercase CHECK (email = lower(email))
);
CREATE UNIQUE INDEX staff_users_email_key ON staff_users (email);
CREATE INDEX staff_users_role_active_idx ON staff_users (role) WHERE active;

-- One session per login; every access and refresh token belongs to one. Revoking the session
-- (logout, refresh-token reuse, deactivation, password change) ends all its tokens at once.
CREATE TABLE staff_sessions (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_reason text
);
CREATE INDEX staff_sessions_user_idx ON staff_sessions (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens are opaque; only their SHA-256 is stored. A token is used once: `used_at`
-- is set when it is rotated, and presenting it again revokes its session.
CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES staff_sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Failed logins, shared by every instance. `subject` is a hash of the account's email or of
-- the client address, never the address or the email itself.
CREATE TABLE login_failures (
    id bigserial PRIMARY KEY,
    subject bytea NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_subject_idx ON login_failures (subject, failed_at);
CREATE INDEX login_failures_failed_at_idx ON login_failures (failed_at);

-- Who did and saw what. Append-only from the application's point of view.
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor_id uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    action text NOT NULL,
    object_type text NOT NULL,
    object_id text NOT NULL,
    details jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at);
