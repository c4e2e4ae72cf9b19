-- Per-job alert overrides (the job's `notifications` field, domain::job::JobAlerts): muted, or
-- an own list of the organization's channels (a JSON array of channel ids); neither: the
-- organization's channels.
ALTER TABLE jobs
    ADD COLUMN alerts_muted boolean NOT NULL DEFAULT false,
    ADD COLUMN alert_channel_ids jsonb,
    ADD CONSTRAINT jobs_alerts_check CHECK (NOT (alerts_muted AND alert_channel_ids IS NOT NULL)),
    ADD CONSTRAINT jobs_alert_channel_ids_check CHECK (
        alert_channel_ids IS NULL
        OR (jsonb_typeof(alert_channel_ids) = 'array' AND jsonb_array_length(alert_channel_ids) BETWEEN 1 AND 20));
