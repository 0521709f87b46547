-- The audit log read newest first without a filter, and by time range.
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
