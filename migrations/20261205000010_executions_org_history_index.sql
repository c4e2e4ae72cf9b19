-- no-transaction
-- The organization-wide history (GET /api/v1/executions, the dashboard): an organization's
-- executions latest scheduled first, paged by (scheduled_for, id). Built CONCURRENTLY so the
-- running release keeps writing executions while it is built; nothing reads it until the new
-- release does.
CREATE INDEX CONCURRENTLY IF NOT EXISTS executions_org_scheduled_idx ON executions (org_id, scheduled_for DESC, id DESC);
