-- no-transaction
-- "What failed tonight": an organization's failed and timed-out executions, latest first,
-- without walking past its successes. Partial (failures are few), built CONCURRENTLY like the
-- one before it (each CONCURRENTLY build needs a migration of its own: no transaction block).
CREATE INDEX CONCURRENTLY IF NOT EXISTS executions_org_failures_idx ON executions (org_id, scheduled_for DESC, id DESC) WHERE status IN ('failed', 'timeout');
