-- Erasure (GDPR). An owner's request to delete an organization starts a grace period: the
-- organization is marked (`deletion_requested_at`), its jobs are paused with the reason
-- 'org_deletion', its pending runs and unsent alerts are cancelled, its API keys and ping URLs
-- stop answering; an owner can restore it until `purge_after`. Then the dispatcher's leader
-- purges every row in bounded batches and records 'organization.purged' with no organization.
-- A user who deletes their account is recorded as 'user.deleted' in each organization they left.
-- Expand-only: new nullable columns, value lists that only grow; the running release never
-- writes the new values and ignores the new columns.
ALTER TABLE organizations
    ADD COLUMN deletion_requested_at timestamptz,
    ADD COLUMN purge_after timestamptz,
    ADD CONSTRAINT organizations_purge_after_deletion CHECK ((deletion_requested_at IS NULL) = (purge_after IS NULL));
CREATE INDEX organizations_purge_idx ON organizations (purge_after) WHERE purge_after IS NOT NULL;

ALTER TABLE jobs DROP CONSTRAINT jobs_paused_reason_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_paused_reason_check CHECK (paused_reason IN ('plan_job_limit', 'plan_min_interval', 'org_deletion'));

ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check CHECK (action IN (
    'api_key.created', 'api_key.revoked', 'api_key.rotated', 'signing_secret.rotated', 'tier.changed',
    'member.invited', 'member.joined', 'member.removed', 'member.role_changed', 'invite.revoked',
    'organization.created', 'organization.renamed', 'login.new_client', 'org.exported',
    'organization.deletion_requested', 'organization.restored', 'organization.purged', 'user.deleted'));
