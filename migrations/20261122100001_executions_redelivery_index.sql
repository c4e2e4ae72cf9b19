-- Bulk redelivery skips executions that were already redelivered: find them by redelivery_of.
CREATE INDEX executions_redelivery_idx ON executions (redelivery_of) WHERE redelivery_of IS NOT NULL;
