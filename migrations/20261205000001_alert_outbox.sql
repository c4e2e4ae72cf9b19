-- Alerts that reach people: channels with an event filter, and notification_deliveries as the
-- durable outbox the dispatcher sends from (claimed with SKIP LOCKED under a lease, retried with
-- backoff, folded into digests when a channel gets too many at once).
--
-- Nothing read or wrote these tables before this migration (there was no channels API and no
-- sender), so the replaced columns carry no data worth keeping beyond the event filter.

ALTER TABLE notification_channels
    ADD COLUMN name text CHECK (length(name) BETWEEN 1 AND 200),
    ADD COLUMN events text[] NOT NULL
        DEFAULT ARRAY['job_failed', 'job_recovered', 'completion_missed', 'monitor_down', 'monitor_up'],
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    -- the capability in an alert e-mail's one-click unsubscribe link (/app/unsubscribe/<token>)
    ADD COLUMN unsubscribe_token text NOT NULL UNIQUE DEFAULT replace(gen_random_uuid()::text, '-', '');
UPDATE notification_channels
   SET events = ARRAY(SELECT e FROM unnest(ARRAY['job_failed', 'completion_missed', 'monitor_down']) e WHERE on_failure)
             || ARRAY(SELECT e FROM unnest(ARRAY['job_recovered', 'monitor_up']) e WHERE on_recovery);
DELETE FROM notification_channels WHERE cardinality(events) = 0;
ALTER TABLE notification_channels
    DROP COLUMN on_failure,
    DROP COLUMN on_recovery,
    ADD CONSTRAINT notification_channels_events_check CHECK (
        cardinality(events) >= 1
        AND events <@ ARRAY['job_failed', 'job_recovered', 'completion_missed', 'monitor_down', 'monitor_up']);
CREATE INDEX notification_channels_org_created_idx ON notification_channels (org_id, created_at DESC, id DESC);
DROP INDEX notification_channels_org_idx;

-- Per-job overrides: not offered yet; the table goes until they are.
DROP TABLE job_notification_overrides;

-- One row per (alert event, channel) and per test message: the outbox.
ALTER TABLE notification_deliveries
    ALTER COLUMN alert_event_id DROP NOT NULL,
    ADD COLUMN org_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
    -- when it may next be sent (a retry, or the end of a digest window)
    ADD COLUMN run_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN leased_by text,
    ADD COLUMN lease_expires_at timestamptz,
    ADD COLUMN response_status smallint,
    -- the message this delivery went out in: its own id, or the digest that carried it
    ADD COLUMN sent_as uuid,
    -- a test message asked for through the API (no alert event)
    ADD COLUMN is_test boolean NOT NULL DEFAULT false,
    -- held back by the digest rule: sent, with the others held for its channel, as one digest
    ADD COLUMN held boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT notification_deliveries_event_or_test CHECK ((alert_event_id IS NULL) = is_test),
    -- 'throttled' was never written: the digest rule holds sends as pending (held) instead
    DROP CONSTRAINT notification_deliveries_status_check,
    ADD CONSTRAINT notification_deliveries_status_check CHECK (status IN ('pending', 'sent', 'failed'));
UPDATE notification_deliveries d SET org_id = c.org_id FROM notification_channels c WHERE c.id = d.channel_id;
ALTER TABLE notification_deliveries ALTER COLUMN org_id SET NOT NULL;
-- The sender's claim: due pending sends, oldest first.
CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (run_at) WHERE status = 'pending';
-- The digest rule counts what a channel was sent recently.
CREATE INDEX notification_deliveries_sent_idx ON notification_deliveries (channel_id, sent_at) WHERE status = 'sent';

-- The fan-out claims events not yet turned into deliveries (alert_events_unprocessed_idx).
