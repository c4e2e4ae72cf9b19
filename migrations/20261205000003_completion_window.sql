-- The completion window: a run of a job with completion_window_secs gets a completion URL
-- (/ping/c/<token>, sent in the Prikke-Completion-Url header); after its call succeeds the run
-- waits ('waiting') for that URL to be called within the window (counted from when the call
-- was sent), and fails with a completion.missed alert when it is not.
ALTER TABLE executions DROP CONSTRAINT executions_status_check;
ALTER TABLE executions
    ADD CONSTRAINT executions_status_check
        CHECK (status IN ('pending', 'running', 'waiting', 'success', 'failed', 'timeout', 'cancelled', 'skipped')),
    ADD COLUMN completion_window_secs integer CHECK (completion_window_secs > 0),
    -- the capability in the completion URL; set on runs with a window
    ADD COLUMN completion_token text UNIQUE,
    -- when the completion URL was first called (on time, late, or after the run ended)
    ADD COLUMN completed_at timestamptz,
    ADD CONSTRAINT executions_completion_token_check CHECK ((completion_token IS NULL) = (completion_window_secs IS NULL));
-- The chore that fails runs whose window passed.
CREATE INDEX executions_waiting_idx ON executions (completion_deadline) WHERE status = 'waiting';
