-- The durable job queue shared by every instance: work that must happen after a change has
-- committed (emails, webhooks, retention purges). A job is inserted in the same transaction
-- as the change that causes it, so it exists exactly when that change does.
--
-- A worker claims a job by taking a lease (`locked_until`) and counting the attempt; a worker
-- that crashes loses its lease when it expires, and the job is claimed again. A finished job
-- is deleted, so no personal data in a payload outlives its use. A failed job is rescheduled
-- (`run_at`) with `last_error`; one that used all its attempts stays as dead for an admin.
CREATE TABLE jobs (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    run_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 10 CHECK (max_attempts >= 1),
    locked_until timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Claiming: the live jobs in run order. Dead jobs stay out of the index, so however many
-- accumulate, they never slow down the claim query.
CREATE INDEX jobs_claim_idx ON jobs (run_at, id) WHERE attempts < max_attempts;
