//! Test support for the dispatcher's end-to-end tests: a real HTTP receiver on 127.0.0.1:0 that
//! records what arrives and lets tests await arrivals (no sleeps), plus database fixtures.
#![allow(dead_code)]

pub mod process;
pub mod receiver;
pub mod smtp;
pub mod throwaway_pg;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dispatcher::{Dispatcher, DispatcherConfig, SharedClock};
use sqlx::PgPool;
use uuid::Uuid;

#[allow(unused_imports)] // each test binary compiles this module and uses a part of it
pub use receiver::{Gate, Receiver, Reply};

/// A signing secret every test organization gets (the tests verify signatures by hand with it).
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A port nobody listens on now, for a server a test starts later: chosen below the kernel's
/// ephemeral range, where outgoing connections and port-0 binds of other tests never land (a port
/// from `bind(":0")`, released and bound again later, was sometimes taken in between).
pub fn unused_port() -> u16 {
    let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next().and_then(|p| p.parse().ok()))
        .unwrap_or(32768);
    for _ in 0..1000 {
        let port = 10_000 + (rand::random::<u16>() % (low - 10_000));
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below the ephemeral range");
}

/// The URL of the database `pool` is connected to (sqlx::test creates one per test).
pub async fn database_url(pool: &PgPool) -> String {
    let db: String = sqlx::query_scalar("SELECT current_database()").fetch_one(pool).await.unwrap();
    let server = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(&server);
    format!("{base}/{db}")
}

/// Dispatcher settings for tests: loopback targets allowed, quick polls.
pub fn config(url: String) -> DispatcherConfig {
    let mut c = DispatcherConfig::with_database_url(url);
    c.allow_targets = vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
    c.poll = Duration::from_millis(200);
    c.heartbeat_every = Duration::from_millis(500);
    c.rescue_every = Duration::from_millis(500);
    c.leader_poll = Duration::from_millis(200);
    c.shutdown_grace = Duration::from_secs(5);
    c.instance_id = format!("test-{}", Uuid::new_v4().simple());
    c.alerts.poll = Duration::from_millis(100);
    c.alerts.lease = Duration::from_secs(5);
    c.alerts.first_retry = Duration::from_millis(200);
    c.alerts.public_url = "https://prikke.test".to_owned();
    c
}

/// A notification channel of `org` taking every event.
pub async fn channel(pool: &PgPool, org_id: Uuid, target: &str) -> Uuid {
    use domain::notification::{ChannelKind, ChannelTarget, EventSet};
    let kind = if target.contains("://") { ChannelKind::Webhook } else { ChannelKind::Email };
    let target = ChannelTarget::parse(kind, target).unwrap();
    let f = store::notification_channels::ChannelFields { name: Some("test"), target: &target, events: &EventSet::all(), enabled: true };
    store::notification_channels::insert(pool, org_id, Uuid::now_v7(), &f).await.unwrap().id
}

pub async fn start(pool: &PgPool, clock: SharedClock, adjust: impl FnOnce(&mut DispatcherConfig)) -> Dispatcher {
    let mut c = config(database_url(pool).await);
    adjust(&mut c);
    Dispatcher::start(c, clock).expect("dispatcher starts")
}

/// An organization with the test signing secret.
pub async fn org(pool: &PgPool, tier: domain::tier::Tier) -> Uuid {
    let slug = format!("o{}", &Uuid::new_v4().simple().to_string()[..12]);
    let org = store::organizations::insert(pool, "Test org", &slug, tier).await.unwrap();
    let key = store::keyring::Keyring::development().org_key(pool, org.id).await.unwrap();
    store::signing_secrets::insert(pool, org.id, &key, SECRET).await.unwrap();
    org.id
}

/// A job from its JSON draft, with its cursor at the schedule's next run after `now`.
pub async fn job(pool: &PgPool, org_id: Uuid, draft: serde_json::Value, now: DateTime<Utc>) -> store::jobs::Job {
    let draft: domain::job::JobDraft = serde_json::from_value(draft).unwrap();
    let spec = domain::job::restore(&draft).unwrap();
    let next = spec.schedule.next_after(now);
    store::jobs::insert(pool, org_id, Uuid::now_v7(), &spec, next).await.unwrap()
}

/// Enqueues an on-demand call to `url` (like POST /api/v1/queue) due at `at`, with a 5 s timeout.
pub async fn queue(pool: &PgPool, org_id: Uuid, url: &str, at: DateTime<Utc>, max_attempts: u8, base_delay_secs: u32) -> Uuid {
    queue_with_timeout(pool, org_id, url, at, max_attempts, base_delay_secs, 5).await
}

/// [`queue`] with the call's own timeout.
pub async fn queue_with_timeout(
    pool: &PgPool,
    org_id: Uuid,
    url: &str,
    at: DateTime<Utc>,
    max_attempts: u8,
    base_delay_secs: u32,
    timeout_secs: u32,
) -> Uuid {
    let id = Uuid::now_v7();
    store::executions::enqueue(
        pool,
        &store::executions::NewExecution {
            id,
            org_id,
            job_id: None,
            source: store::executions::Source::Queue,
            scheduled_for: at,
            priority: 40,
            max_attempts,
            retry_base_delay_secs: base_delay_secs,
            retry_max_delay_secs: 60,
            message_id: id,
            method: "POST",
            url,
            headers: &[("content-type".to_owned(), "application/json".to_owned())],
            body: Some(r#"{"hello":"prikke"}"#),
            timeout_secs,
            redelivery_of: None,
            completion_window_secs: None,
        },
    )
    .await
    .unwrap()
    .id
}

/// Polls the execution until it reaches one of the final statuses (the dispatcher offers no
/// signal to await across processes; the poll is bounded and only observes).
pub async fn wait_final(pool: &PgPool, id: Uuid, within: Duration) -> store::executions::Execution {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let row: (Uuid, String) = sqlx::query_as("SELECT org_id, status FROM executions WHERE id = $1").bind(id).fetch_one(pool).await.unwrap();
        if ["success", "failed", "timeout", "skipped", "cancelled"].contains(&row.1.as_str()) {
            return store::executions::get(pool, row.0, id).await.unwrap().unwrap();
        }
        assert!(tokio::time::Instant::now() < deadline, "execution {id} still {} after {within:?}", row.1);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Verifies a Standard Webhooks signature with an implementation independent of
/// `domain::signing`: HMAC-SHA256 over `id.timestamp.body`, base64, compared to each `v1,` entry.
pub fn verify_by_hand(secret: &str, id: &str, ts: &str, sig_header: &str, body: &[u8]) -> bool {
    use base64::Engine;
    use hmac::{KeyInit, Mac};
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    sig_header.split(' ').any(|entry| entry.strip_prefix("v1,") == Some(expected.as_str()))
}

pub fn shared<C: dispatcher::Clock>(c: C) -> SharedClock {
    Arc::new(c)
}

/// An execution's status, attempt counter and leaseholder, as stored.
pub async fn status_of(pool: &PgPool, id: Uuid) -> (String, i16, Option<String>) {
    sqlx::query_as("SELECT status, attempt, leased_by FROM executions WHERE id = $1").bind(id).fetch_one(pool).await.unwrap()
}

/// Observes `probe` until it sees something (a bounded poll of an observation, never a fixed
/// sleep standing in for one), and returns what it saw; fails the test after `within`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(seen) = probe().await {
            return seen;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
