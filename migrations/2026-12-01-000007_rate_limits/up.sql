-- Rate limits of the public routes, per policy and client address, shared by every instance:
-- one row per (policy, address) holding the hits of its current fixed window. The bucket is
-- SHA-256 of the policy and the address, never the address itself. A row is rewritten in
-- place while its window lasts (HOT updates: hence the free room left on each page), reset
-- by the first hit of the next window, and deleted in small batches once its window ended.
--
-- UNLOGGED: counting writes no WAL, so a limited read does not wait for a WAL flush at
-- commit (with a logged table the limiter halved the list's throughput). The price is fine
-- for counters that live a window: after a crash the table is empty (every client gets a
-- fresh budget), and it is not copied to streaming replicas.
CREATE UNLOGGED TABLE rate_limit_counters (
    bucket bytea PRIMARY KEY,
    window_end timestamptz NOT NULL,
    hits integer NOT NULL
) WITH (fillfactor = 70);

-- The clean-up looks for ended windows.
CREATE INDEX rate_limit_counters_window_end_idx ON rate_limit_counters (window_end);
