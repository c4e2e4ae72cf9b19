-- Accounts: the e-mails they send go through a durable outbox like alerts do. api-fn writes the
-- message in the transaction that makes its link; the dispatcher sends it (woken by NOTIFY
-- prikke_mail) and then blanks its body, which may hold a single-use link: the link's secret is
-- kept only until it is sent (and it expires within minutes anyway; only its hash is kept to
-- check it).
CREATE TABLE outgoing_mail (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id            uuid REFERENCES organizations (id) ON DELETE CASCADE,
    kind              text NOT NULL CHECK (kind IN ('confirm_email', 'magic_link', 'password_reset', 'invite', 'plan_changed')),
    to_address        text NOT NULL CHECK (length(to_address) BETWEEN 3 AND 254),
    subject           text NOT NULL CHECK (length(subject) BETWEEN 1 AND 300),
    body_text         text,
    body_html         text,
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts          smallint NOT NULL DEFAULT 0,
    run_at            timestamptz NOT NULL DEFAULT now(),
    leased_by         text,
    lease_expires_at  timestamptz,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    sent_at           timestamptz,
    CONSTRAINT outgoing_mail_body_until_sent CHECK (status = 'pending' OR (body_text IS NULL AND body_html IS NULL))
);
CREATE INDEX outgoing_mail_due_idx ON outgoing_mail (run_at) WHERE status = 'pending';

ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check CHECK (action IN (
    'api_key.created', 'api_key.revoked', 'api_key.rotated', 'signing_secret.rotated', 'tier.changed',
    'member.invited', 'member.joined', 'member.removed', 'member.role_changed', 'invite.revoked',
    'organization.created', 'organization.renamed', 'login.new_client'));

-- A login from a client (user agent) the user has not signed in from before is audited once.
ALTER TABLE sessions ADD COLUMN client_hash bytea;
CREATE INDEX sessions_user_client_idx ON sessions (user_id, client_hash);
