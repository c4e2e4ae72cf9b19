-- The audit log records each export of an organization's data (GET /api/v1/export) as
-- 'org.exported'. Expand-only: the list only grows, so the running release (which never writes
-- the new name) keeps working while and after this runs.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check CHECK (action IN (
    'api_key.created', 'api_key.revoked', 'api_key.rotated', 'signing_secret.rotated', 'tier.changed',
    'member.invited', 'member.joined', 'member.removed', 'member.role_changed', 'invite.revoked',
    'organization.created', 'organization.renamed', 'login.new_client', 'org.exported'));
