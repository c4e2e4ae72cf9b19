-- no-transaction
-- Pending runs per organization, for the per-plan caps on runs waiting to be delivered (and the
-- quota they reserve). Built CONCURRENTLY: the queue keeps working while it is built.
CREATE INDEX CONCURRENTLY IF NOT EXISTS executions_org_pending_idx ON executions (org_id) WHERE status = 'pending';
