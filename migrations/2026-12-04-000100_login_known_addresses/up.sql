-- Addresses an account has logged in from, so that failures from elsewhere (a distributed
-- guesser) do not lock its owner out (issue 11 item 10). The key is a SHA-256 of the account
-- and the normalised address: neither is stored.
CREATE TABLE login_known_addresses (
    subject BYTEA PRIMARY KEY,
    last_login_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_known_addresses_last_login_at ON login_known_addresses (last_login_at);
