-- Heartbeat monitors, complete: a start ping opens a deadline (max_runtime_secs) by which a
-- success or fail ping must follow, else the monitor is down as hung; a new monitor waits for
-- its first ping (alert_at set when it is created or resumed) instead of waiting forever.
ALTER TABLE monitors
    ADD COLUMN max_runtime_secs integer CHECK (max_runtime_secs > 0),
    ADD COLUMN start_deadline timestamptz;
-- The down rule's second scan: started and not finished in time.
CREATE INDEX monitors_hung_idx ON monitors (start_deadline) WHERE status IN ('new', 'up') AND start_deadline IS NOT NULL;
-- New interval monitors that never pinged get their first deadline now (cron ones get it at their
-- next edit or resume: their next occurrence is computed in Rust, not in SQL).
UPDATE monitors SET alert_at = created_at + make_interval(secs => interval_secs + grace_secs)
 WHERE status = 'new' AND alert_at IS NULL AND schedule_kind = 'interval';
