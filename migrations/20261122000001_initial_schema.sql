-- Prikke: the whole schema of PRODUCT.md. Forward-only; later changes get new files.
-- Conventions: uuid primary keys (random, or v7 from the application), timestamptz everywhere,
-- small closed vocabularies as text + CHECK (readable in psql, no enum-type migrations),
-- every tenant row carries org_id and goes when its organization goes (GDPR delete = one DELETE).

-- ---------------------------------------------------------------------------------------------
-- Accounts and tenancy
-- ---------------------------------------------------------------------------------------------
CREATE TABLE organizations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
    tier        text NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'pro')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email              text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name               text CHECK (length(name) <= 200),
    -- argon2id PHC string; NULL for users who only ever log in by magic link.
    password_hash      text,
    email_verified_at  timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_login_at      timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE memberships (
    org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

-- Dashboard sessions: the cookie carries a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash      bytea NOT NULL UNIQUE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    current_org_id  uuid REFERENCES organizations (id) ON DELETE SET NULL,
    csrf_secret     bytea NOT NULL,
    user_agent      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

-- Single-use e-mailed tokens: magic-link login, e-mail verification, password reset.
CREATE TABLE email_tokens (
    token_hash   bytea PRIMARY KEY,
    purpose      text NOT NULL CHECK (purpose IN ('magic_link', 'verify_email', 'password_reset')),
    email        text NOT NULL,
    user_id      uuid REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    consumed_at  timestamptz
);
CREATE INDEX email_tokens_expiry_idx ON email_tokens (expires_at);

CREATE TABLE invites (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id       uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email        text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    role         text NOT NULL CHECK (role IN ('admin', 'member')),
    token_hash   bytea NOT NULL UNIQUE,
    invited_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    declined_at  timestamptz,
    revoked_at   timestamptz
);
-- At most one open invite per address per organization (pending invites count as members).
CREATE UNIQUE INDEX invites_open_key ON invites (org_id, lower(email))
    WHERE accepted_at IS NULL AND declined_at IS NULL AND revoked_at IS NULL;

-- API keys `pk_live_<public_id>.sk_live_<secret>`: only the secret's SHA-256 is stored.
CREATE TABLE api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id        uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    public_id     text NOT NULL UNIQUE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    secret_hash   bytea NOT NULL CHECK (length(secret_hash) = 32),
    created_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    -- set on the new key when a key is rotated (the old key gets revoked_at)
    rotated_from  uuid REFERENCES api_keys (id) ON DELETE SET NULL
);
CREATE INDEX api_keys_org_idx ON api_keys (org_id, created_at DESC);

-- Standard Webhooks signing secrets (`whsec_…`). Rotation inserts a new one and gives the old one
-- an expiry: while both are live, both sign every request.
CREATE TABLE signing_secrets (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    secret      text NOT NULL CHECK (secret LIKE 'whsec\_%'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz
);
CREATE INDEX signing_secrets_org_idx ON signing_secrets (org_id, created_at DESC);

-- ---------------------------------------------------------------------------------------------
-- Jobs
-- ---------------------------------------------------------------------------------------------
CREATE TABLE jobs (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id                  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- client-chosen key for declarative sync (PUT /api/v1/sync)
    key                     text CHECK (key ~ '^[A-Za-z0-9._-]{1,128}$'),
    name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    url                     text NOT NULL CHECK (length(url) <= 2048),
    method                  text NOT NULL CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD')),
    -- ordered [[name, value], ...]
    headers                 jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(headers) = 'array'),
    body                    text,
    timeout_secs            integer NOT NULL DEFAULT 30 CHECK (timeout_secs BETWEEN 1 AND 3600),
    enabled                 boolean NOT NULL DEFAULT true,
    schedule_kind           text NOT NULL CHECK (schedule_kind IN ('cron', 'once')),
    cron_expr               text,
    timezone                text NOT NULL DEFAULT 'UTC',
    once_at                 timestamptz,
    -- derived from the schedule by domain::schedule; NULL for one-time jobs
    interval_minutes        integer CHECK (interval_minutes > 0),
    retry_max_attempts      smallint NOT NULL CHECK (retry_max_attempts BETWEEN 1 AND 10),
    retry_base_delay_secs   integer NOT NULL CHECK (retry_base_delay_secs > 0),
    retry_max_delay_secs    integer NOT NULL CHECK (retry_max_delay_secs >= retry_base_delay_secs),
    catch_up                text NOT NULL DEFAULT 'run_once' CHECK (catch_up IN ('run_once', 'run_all', 'skip')),
    catch_up_cap            smallint NOT NULL DEFAULT 10 CHECK (catch_up_cap BETWEEN 1 AND 100),
    overlap                 text NOT NULL DEFAULT 'allow' CHECK (overlap IN ('allow', 'skip')),
    completion_window_secs  integer CHECK (completion_window_secs > 0),
    -- the next occurrence not yet materialised as an execution; NULL = nothing left to schedule
    -- (disabled, or a one-time job that has fired)
    next_run_at             timestamptz,
    -- true between a final failure and the next success: drives "recovered" alerts
    failing                 boolean NOT NULL DEFAULT false,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK ((schedule_kind = 'cron' AND cron_expr IS NOT NULL AND once_at IS NULL)
        OR (schedule_kind = 'once' AND once_at IS NOT NULL AND cron_expr IS NULL))
);
CREATE UNIQUE INDEX jobs_org_key ON jobs (org_id, key) WHERE key IS NOT NULL;
CREATE INDEX jobs_org_idx ON jobs (org_id, created_at DESC, id DESC);
-- The scheduler's only scan: jobs coming due. Cost is proportional to due jobs, not all jobs.
CREATE INDEX jobs_due_idx ON jobs (next_run_at) WHERE enabled AND next_run_at IS NOT NULL;
-- Recovery detection after each batch of successes only ever visits failing jobs.
CREATE INDEX jobs_failing_idx ON jobs (id) WHERE failing;

-- ---------------------------------------------------------------------------------------------
-- Executions: the delivery queue and the history, one row per delivery (retries update the row;
-- each finished attempt is also kept in execution_attempts).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE executions (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id               uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- NULL for on-demand queue calls, and after the job is deleted (history survives the job)
    job_id               uuid REFERENCES jobs (id) ON DELETE SET NULL,
    source               text NOT NULL CHECK (source IN ('schedule', 'manual', 'queue', 'redelivery')),
    -- the nominal run time (the cron occurrence, the queue's deliver-at, the trigger instant)
    scheduled_for        timestamptz NOT NULL,
    -- when the row may next be claimed (scheduled_for at first, later the retry time)
    run_at               timestamptz NOT NULL,
    status               text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'running', 'success', 'failed', 'timeout', 'cancelled', 'skipped')),
    -- why a run was skipped (over quota, overlap, missed-run policy) or cancelled
    status_reason        text,
    priority             smallint NOT NULL,
    -- attempts started so far (0 while never claimed)
    attempt              smallint NOT NULL DEFAULT 0,
    max_attempts         smallint NOT NULL CHECK (max_attempts BETWEEN 1 AND 10),
    retry_base_delay_secs integer NOT NULL,
    retry_max_delay_secs  integer NOT NULL,
    lease_expires_at     timestamptz,
    leased_by            text,
    -- webhook-id: stable across retries, rescues and redeliveries of the same message
    message_id           uuid NOT NULL,
    -- the request as it is delivered (a snapshot: editing the job later does not change history)
    method               text NOT NULL CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD')),
    url                  text NOT NULL,
    headers              jsonb NOT NULL DEFAULT '[]',
    body                 text,
    timeout_secs         integer NOT NULL,
    -- the job's overlap policy at materialisation: skip this run if another run of the job is running
    skip_if_running      boolean NOT NULL DEFAULT false,
    -- closes the loop with monitoring: the endpoint must ping back before this instant
    completion_deadline  timestamptz,
    started_at           timestamptz,
    finished_at          timestamptz,
    duration_ms          integer,
    response_status      smallint,
    response_headers     jsonb,
    response_body        text,
    error                text,
    redelivery_of        uuid REFERENCES executions (id) ON DELETE SET NULL,
    created_at           timestamptz NOT NULL DEFAULT now()
);
-- A double scheduler tick cannot create a second run of the same occurrence.
CREATE UNIQUE INDEX executions_job_slot ON executions (job_id, scheduled_for) WHERE source = 'schedule';
-- The claim: pending rows, highest priority first, then most overdue first.
CREATE INDEX executions_due_idx ON executions (priority DESC, run_at) WHERE status = 'pending';
-- The rescuer: running rows whose lease expired.
CREATE INDEX executions_lease_idx ON executions (lease_expires_at) WHERE status = 'running';
-- History per job and per organization (also drives retention).
CREATE INDEX executions_job_idx ON executions (job_id, scheduled_for DESC);
CREATE INDEX executions_org_idx ON executions (org_id, created_at DESC);

CREATE TABLE execution_attempts (
    execution_id     uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    attempt          smallint NOT NULL,
    status           text NOT NULL CHECK (status IN ('success', 'failed', 'timeout')),
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz NOT NULL,
    duration_ms      integer NOT NULL,
    response_status  smallint,
    error            text,
    PRIMARY KEY (execution_id, attempt)
);

-- Generic Idempotency-Key store for POST endpoints (kept 24 h).
CREATE TABLE idempotency_keys (
    org_id           uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash     bytea NOT NULL,
    response_status  smallint,
    response_body    jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_keys_age_idx ON idempotency_keys (created_at);

-- ---------------------------------------------------------------------------------------------
-- Monitoring (heartbeats)
-- ---------------------------------------------------------------------------------------------
CREATE TABLE monitors (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id            uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- the capability in the public ping URL /ping/<token>
    token             text NOT NULL UNIQUE CHECK (length(token) BETWEEN 16 AND 64),
    schedule_kind     text NOT NULL CHECK (schedule_kind IN ('cron', 'interval')),
    cron_expr         text,
    timezone          text NOT NULL DEFAULT 'UTC',
    interval_secs     integer CHECK (interval_secs > 0),
    grace_secs        integer NOT NULL DEFAULT 300 CHECK (grace_secs >= 0),
    status            text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'up', 'down', 'paused')),
    last_ping_at      timestamptz,
    last_start_at     timestamptz,
    -- when the monitor goes down if no ping arrives (expected time + grace); NULL while new/paused
    alert_at          timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((schedule_kind = 'cron' AND cron_expr IS NOT NULL) OR (schedule_kind = 'interval' AND interval_secs IS NOT NULL))
);
CREATE INDEX monitors_org_idx ON monitors (org_id, created_at DESC, id DESC);
CREATE INDEX monitors_alert_idx ON monitors (alert_at) WHERE status IN ('new', 'up') AND alert_at IS NOT NULL;

CREATE TABLE pings (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    monitor_id   uuid NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('success', 'start', 'fail')),
    received_at  timestamptz NOT NULL DEFAULT now(),
    method       text NOT NULL,
    source_ip    text,
    user_agent   text,
    body         text
);
CREATE INDEX pings_monitor_idx ON pings (monitor_id, received_at DESC);

-- ---------------------------------------------------------------------------------------------
-- Alerts and notifications
-- ---------------------------------------------------------------------------------------------
CREATE TABLE notification_channels (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id       uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('email', 'webhook')),
    -- an e-mail address or an https URL (Slack/Discord URLs get their own payload format)
    target       text NOT NULL CHECK (length(target) BETWEEN 3 AND 2048),
    on_failure   boolean NOT NULL DEFAULT true,
    on_recovery  boolean NOT NULL DEFAULT true,
    enabled      boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_channels_org_idx ON notification_channels (org_id);

-- Per-job overrides of the organization's channels (mute one channel for one job, or turn on
-- recovery notices for just this job).
CREATE TABLE job_notification_overrides (
    job_id       uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    channel_id   uuid NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    on_failure   boolean NOT NULL,
    on_recovery  boolean NOT NULL,
    PRIMARY KEY (job_id, channel_id)
);

-- Something alert-worthy happened; the alerts worker fans it out to channels.
CREATE TABLE alert_events (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id        uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('job_failed', 'job_recovered', 'completion_missed', 'monitor_down', 'monitor_up')),
    job_id        uuid REFERENCES jobs (id) ON DELETE CASCADE,
    monitor_id    uuid REFERENCES monitors (id) ON DELETE CASCADE,
    execution_id  uuid REFERENCES executions (id) ON DELETE SET NULL,
    details       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz
);
CREATE INDEX alert_events_unprocessed_idx ON alert_events (created_at) WHERE processed_at IS NULL;
CREATE INDEX alert_events_org_idx ON alert_events (org_id, created_at DESC);

CREATE TABLE notification_deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    alert_event_id  uuid NOT NULL REFERENCES alert_events (id) ON DELETE CASCADE,
    channel_id      uuid NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    status          text NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'throttled')),
    attempts        smallint NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (alert_event_id, channel_id)
);
CREATE INDEX notification_deliveries_channel_idx ON notification_deliveries (channel_id, created_at DESC);

-- ---------------------------------------------------------------------------------------------
-- Usage, billing, audit, waitlist, operations
-- ---------------------------------------------------------------------------------------------
CREATE TABLE usage_counters (
    org_id        uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- first day of the calendar month (UTC)
    month         date NOT NULL CHECK (extract(day FROM month) = 1),
    executions    bigint NOT NULL DEFAULT 0,
    -- runs recorded as skipped because the monthly quota was used up
    over_quota    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, month)
);

CREATE TABLE billing_events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider     text NOT NULL CHECK (provider IN ('lemonsqueezy')),
    event_id     text NOT NULL,
    event_name   text NOT NULL,
    org_id       uuid REFERENCES organizations (id) ON DELETE SET NULL,
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, event_id)
);

CREATE TABLE audit_log (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id             uuid REFERENCES organizations (id) ON DELETE CASCADE,
    actor_user_id      uuid REFERENCES users (id) ON DELETE SET NULL,
    actor_api_key_id   uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    action             text NOT NULL,
    target_type        text,
    target_id          text,
    details            jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_org_idx ON audit_log (org_id, created_at DESC);

CREATE TABLE waitlist (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email       text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    source      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX waitlist_email_key ON waitlist (lower(email));

-- Every dispatcher process keeps a row fresh; the leader also records its last scheduling tick.
-- Feeds health checks and the public status page.
CREATE TABLE dispatcher_instances (
    instance_id     text PRIMARY KEY,
    version         text NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    is_leader       boolean NOT NULL DEFAULT false,
    last_tick_at    timestamptz,
    -- the leader's latest measured lag from scheduled_for to delivery start, for the status page
    fire_lag_ms     integer
);

CREATE TABLE incidents (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title        text NOT NULL,
    body         text NOT NULL DEFAULT '',
    severity     text NOT NULL CHECK (severity IN ('minor', 'major', 'critical')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz
);
CREATE INDEX incidents_recent_idx ON incidents (started_at DESC);
