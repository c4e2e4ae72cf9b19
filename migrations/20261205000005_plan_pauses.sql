-- A downgrade deletes nothing: the jobs the new plan does not allow to run are disabled with a
-- reason the job shows (domain::billing::PauseReason), and an upgrade resumes them. A job the
-- user disables or enables has no such reason. Audit actions are the domain's names.
ALTER TABLE jobs
    ADD COLUMN paused_reason text CHECK (paused_reason IN ('plan_job_limit', 'plan_min_interval')),
    ADD CONSTRAINT jobs_paused_reason_disabled CHECK (paused_reason IS NULL OR NOT enabled);
ALTER TABLE audit_log
    ADD CONSTRAINT audit_log_action_check
        CHECK (action IN ('api_key.created', 'api_key.revoked', 'api_key.rotated', 'signing_secret.rotated', 'tier.changed'));
