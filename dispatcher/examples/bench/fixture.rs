//! Benchmark fixtures: a fresh database per benchmark, an organization, bulk rows.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub struct BenchDb {
    pub url: String,
    pub pool: PgPool,
    /// Sessions set up like the dispatcher's (`store::pool::QUEUE_SESSION`): what the measured
    /// queue statements run on.
    pub queue: PgPool,
    server: String,
    name: String,
}

impl BenchDb {
    pub async fn create(server: &str, label: &str) -> BenchDb {
        let name = format!("prikke_bench_{label}_{}", std::process::id());
        let admin = PgPool::connect(server).await.expect("DATABASE_URL answers");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.unwrap();
        admin.close().await;
        let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(server);
        let url = format!("{base}/{name}");
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(8).connect(&url).await.unwrap();
        store::migrate(&pool).await.unwrap();
        let settings = store::PoolSettings { max_connections: 8, session: store::pool::QUEUE_SESSION, ..Default::default() };
        let queue = store::connect(&url, &settings).unwrap();
        BenchDb { url, pool, queue, server: server.to_owned(), name }
    }

    pub async fn drop_db(self) {
        self.queue.close().await;
        self.pool.close().await;
        let admin = PgPool::connect(&self.server).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&admin).await.unwrap();
    }
}

pub async fn org(pool: &PgPool) -> Uuid {
    let org = store::organizations::insert(pool, "Bench", &format!("bench{}", &Uuid::new_v4().simple().to_string()[..8]), domain::tier::Tier::Pro)
        .await
        .unwrap();
    let key = store::keyring::Keyring::development().org_key(pool, org.id).await.unwrap();
    store::signing_secrets::insert(pool, org.id, &key, SECRET).await.unwrap();
    org.id
}

/// `n` pending on-demand executions due at `at`, each POSTing a small JSON body to `url`.
pub async fn executions(pool: &PgPool, org: Uuid, url: &str, at: DateTime<Utc>, n: usize) {
    sqlx::query(
        "INSERT INTO executions (id, message_id, org_id, source, scheduled_for, run_at, priority, max_attempts,
                                 retry_base_delay_secs, retry_max_delay_secs, method, url, headers, body, timeout_secs)
         SELECT id, id, $1, 'queue', $2, $2, 140, 1, 10, 60, 'POST', $3,
                '[[\"content-type\",\"application/json\"]]', '{\"n\":' || g || '}', 10
           FROM (SELECT gen_random_uuid() AS id, g FROM generate_series(1, $4) g) s",
    )
    .bind(org)
    .bind(at)
    .bind(url)
    .bind(n as i64)
    .execute(pool)
    .await
    .unwrap();
}

/// `n` enabled `* * * * *` jobs with their cursor at `next`.
pub async fn cron_jobs(pool: &PgPool, org: Uuid, url: &str, next: DateTime<Utc>, n: usize) {
    sqlx::query(
        "INSERT INTO jobs (org_id, name, url, method, schedule_kind, cron_expr, timezone, interval_minutes,
                           retry_max_attempts, retry_base_delay_secs, retry_max_delay_secs, next_run_at)
         SELECT $1, 'bench ' || g, $2, 'POST', 'cron', '* * * * *', 'UTC', 1, 1, 10, 10, $3
           FROM generate_series(1, $4) g",
    )
    .bind(org)
    .bind(url)
    .bind(next)
    .bind(n as i64)
    .execute(pool)
    .await
    .unwrap();
}

pub async fn vacuum(pool: &PgPool) {
    sqlx::query("VACUUM ANALYZE").execute(pool).await.unwrap();
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned()))
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// The production defaults (see DispatcherConfig), with loopback allowed; BENCH_CLAIM_BATCH,
/// BENCH_CLAIM_BATCH_MAX, BENCH_CONCURRENCY, BENCH_PER_HOST and BENCH_RECORD_DEFER_MS override batch size, delivery
/// limit, per-host cap and how long outcomes may wait for the firing backlog.
pub fn config(url: &str) -> dispatcher::DispatcherConfig {
    let mut c = dispatcher::DispatcherConfig::with_database_url(url);
    c.allow_targets = vec!["127.0.0.0/8".parse().unwrap()];
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<usize>().ok());
    c.claim_batch = env("BENCH_CLAIM_BATCH").unwrap_or(c.claim_batch);
    c.claim_batch_max = env("BENCH_CLAIM_BATCH_MAX").unwrap_or(c.claim_batch_max).max(c.claim_batch);
    c.concurrency_max = env("BENCH_CONCURRENCY").unwrap_or(c.concurrency_max);
    c.per_host_concurrency = env("BENCH_PER_HOST").unwrap_or(c.per_host_concurrency);
    c.prefetch_max = env("BENCH_PREFETCH_MAX").unwrap_or(c.prefetch_max);
    if let Some(ms) = env("BENCH_RECORD_DEFER_MS") {
        c.record_defer = std::time::Duration::from_millis(ms as u64);
    }
    c.instance_id = "bench".into();
    c
}
