-- Secrets at rest: each organization's data key, stored only wrapped (encrypted) by a master key
-- from the environment (`PRIKKE_ENCRYPTION_KEYS`; KMS-provided in production). Signing secrets
-- and credential header values are stored sealed with it (`domain::sealed`). `master_key_id`
-- names the master key that wrapped it, so a rotation can rewrap every row with the new one.
-- Additive: the previous release neither reads nor writes this table.
CREATE TABLE org_data_keys (
    org_id         uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    master_key_id  text NOT NULL CHECK (length(master_key_id) BETWEEN 1 AND 32),
    wrapped        bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    rewrapped_at   timestamptz
);
CREATE INDEX org_data_keys_master_idx ON org_data_keys (master_key_id);

-- A signing secret is `whsec_…` in plain text (rows written before this release, until the
-- dispatcher's leader seals them) or sealed. NOT VALID then VALIDATE: the check of existing rows
-- does not block writes.
ALTER TABLE signing_secrets DROP CONSTRAINT signing_secrets_secret_check;
ALTER TABLE signing_secrets ADD CONSTRAINT signing_secrets_secret_check
    CHECK (secret LIKE 'whsec\_%' OR secret LIKE E'\x01sealed:v1:%') NOT VALID;
ALTER TABLE signing_secrets VALIDATE CONSTRAINT signing_secrets_secret_check;
