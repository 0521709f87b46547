-- Emails kept instead of sent while SMTP_HOST is unset, so that they stay readable
-- (`passerelle outbox`) rather than dropped (issue 12 item 6). Bounded by the application:
-- at most 200 rows and 14 days. `application_id` is the application an email is about, so
-- that erasing it deletes its emails (no foreign key: applications are erased, not deleted,
-- and emails not about an application have none).
CREATE TABLE mail_outbox (
    id BIGSERIAL PRIMARY KEY,
    application_id UUID,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX mail_outbox_created_at ON mail_outbox (created_at);
CREATE INDEX mail_outbox_application_id ON mail_outbox (application_id);
