-- Rate limits of the public routes, per policy and client address, shared by every instance:
-- one row per (policy, address) holding the hits of its current fixed window. The bucket is
-- SHA-256 of the policy and the address, never the address itself. A row is rewritten in
-- place while its window lasts (HOT updates: hence the free room left on each page), reset
-- by the first hit of the next window, and deleted in small batches once its window ended.
CREATE TABLE rate_limit_counters (
    bucket bytea PRIMARY KEY,
    window_end timestamptz NOT NULL,
    hits integer NOT NULL
) WITH (fillfactor = 70);

-- The clean-up looks for ended windows.
CREATE INDEX rate_limit_counters_window_end_idx ON rate_limit_counters (window_end);
