//! Connecting to Postgres and applying the embedded migrations.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

/// The schema in `migrations/`, embedded at compile time. Tests use it through
/// `#[sqlx::test(migrator = "store::MIGRATOR")]`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// How a service sizes and names its pool.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout: Duration,
    /// Shown in `pg_stat_activity.application_name`.
    pub application_name: &'static str,
    /// Server settings for every session of the pool (`-c name=value` at connect), e.g.
    /// [`QUEUE_SESSION`].
    pub session: &'static [(&'static str, &'static str)],
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            application_name: "prikke",
            session: OLTP_SESSION,
        }
    }
}

/// Settings for every session of the services: no JIT compilation. Every statement they make is
/// a short OLTP statement, and JIT pays off only for long analytical ones; but the planner decides
/// by estimated cost, so a stale estimate (or, on a [`QUEUE_SESSION`], a scan that is switched
/// off and costed at 10^10) had Postgres compile a one-row DELETE to machine code: 155–172 ms of
/// CPU for a statement that takes 0.1 ms (measured with auto_explain during a fire-precision burst).
pub const OLTP_SESSION: &[(&str, &str)] = &[("jit", "off")];

/// Settings every session of a pool gets, whatever else it sets: bounded statements and idle
/// transactions, and TCP keepalives.
pub const SESSION_LIMITS: &[(&str, &str)] = &[
    ("statement_timeout", STATEMENT_TIMEOUT),
    ("idle_in_transaction_session_timeout", IDLE_IN_TRANSACTION_TIMEOUT),
    ("tcp_keepalives_idle", "30"),
    ("tcp_keepalives_interval", "10"),
    ("tcp_keepalives_count", "3"),
    ("tcp_user_timeout", "30000"),
];

/// No statement of a service runs longer (each is a short OLTP statement or a bounded batch; a
/// stuck one must not hold its locks and its connection for ever). Migrations are exempt.
pub const STATEMENT_TIMEOUT: &str = "60s";
/// A transaction left open (a process frozen between two statements) is ended after this, so its
/// row locks do not stall the queue.
pub const IDLE_IN_TRANSACTION_TIMEOUT: &str = "60s";
// The tcp_* settings make the server notice a client host that vanished without closing its
// connections (30 s of silence, then 3 probes 10 s apart; unacknowledged data gives up after
// 30 s) instead of after the kernel's two hours: until then its sessions hold their locks.

/// Planner settings for sessions that work the queue (the dispatcher). Every statement it runs is
/// meant to be driven by an index (the claim by the partial `executions_due_idx`, the rest by
/// primary keys and partial indexes), but the statistics of a queue table are always stale: a
/// burst of thousands of runs due at one second arrives between two ANALYZEs. Measured with
/// 100,000 runs due at once: the planner, told "65 pending rows", claimed through a bitmap scan
/// and an on-disk sort of all 86,000 (60–100 ms per claim of 200 instead of ≈ 5 ms), and a
/// generic plan cached while the table was empty found the picked ids by a full index scan. So
/// sequential and bitmap scans, and the hash and merge joins that go with them, are taken off the
/// table unless nothing else can answer: every join the dispatcher makes is a batch of keys looked up by index. (The claim
/// is also planned afresh each time; see `dispatch::claim`. `dispatch::tests` checks its plan.)
pub const QUEUE_SESSION: &[(&str, &str)] = &[
    ("jit", "off"),
    ("enable_seqscan", "off"),
    ("enable_bitmapscan", "off"),
    ("enable_hashjoin", "off"),
    ("enable_mergejoin", "off"),
];

/// `DATABASE_URL` as the services read it at start-up: the value, or the line to show when it is
/// missing or not a Postgres URL (each service collects such lines into one error).
pub fn database_url_setting(value: Option<String>) -> Result<String, String> {
    match value {
        Some(u) if is_postgres_url(&u) => Ok(u),
        Some(_) => Err("DATABASE_URL must be a postgres:// or postgresql:// URL".to_owned()),
        None => Err("DATABASE_URL is required (e.g. postgres://postgres@127.0.0.1:5432/prikke)".to_owned()),
    }
}

fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens a pool to `url`. Connections are established lazily, so a service can start (and report
/// itself unhealthy) while the database is down; the first query surfaces any error.
pub fn connect(url: &str, settings: &PoolSettings) -> Result<PgPool, sqlx::Error> {
    if !is_postgres_url(url) {
        return Err(sqlx::Error::Configuration("the database URL must start with postgres:// or postgresql://".into()));
    }
    Ok(connect_with(url.parse::<PgConnectOptions>()?, settings))
}

/// [`connect`] with the connection options already parsed.
pub fn connect_with(options: PgConnectOptions, settings: &PoolSettings) -> PgPool {
    let mut options = options
        .application_name(settings.application_name)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
    options = options.options(SESSION_LIMITS.iter().chain(settings.session.iter()).copied());
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .acquire_timeout(settings.acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IF_IDLE_FOR {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(options)
}

/// A pooled connection that sat idle at least this long is pinged before it is handed out (a
/// broken one is dropped and another taken). sqlx's default pings on *every* acquire: a round
/// trip per statement, which was ≈ a third of the round trips of `POST /api/v1/jobs` under load.
/// A connection that was in use moments ago is trusted, as HikariCP does (its bypass window is
/// 500 ms too); a statement that still meets a dead one fails like any statement whose server
/// goes away mid-flight.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_millis(500);

/// Applies every pending migration (idempotent; sqlx serialises concurrent runs with an advisory
/// lock, so several processes starting at once is safe).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    // a migration may build an index for longer than a service statement may take: on a
    // connection of its own without the timeout, closed afterwards rather than returned
    let mut conn = pool.acquire().await?.detach();
    sqlx::query("SET statement_timeout = 0").execute(&mut conn).await?;
    let result = MIGRATOR.run(&mut conn).await;
    let _ = conn.close().await;
    result
}

/// True when a trivial query succeeds: the health endpoints' Postgres check.
pub async fn ping(pool: &PgPool) -> bool {
    sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn migrated_database_answers_ping(pool: PgPool) {
        assert!(ping(&pool).await);
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'executions'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(tables, 1);
    }

    async fn setting(pool: &PgPool, name: &str) -> String {
        sqlx::query_scalar("SELECT current_setting($1)").bind(name).fetch_one(pool).await.unwrap()
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn sessions_carry_their_settings(_: PgPoolOptions, options: PgConnectOptions) {
        let plain = connect_with(options.clone(), &PoolSettings::default());
        assert_eq!(setting(&plain, "jit").await, "off", "no service session compiles statements");
        assert_eq!(setting(&plain, "enable_seqscan").await, "on");
        let queue = connect_with(options, &PoolSettings { session: QUEUE_SESSION, ..PoolSettings::default() });
        for name in ["jit", "enable_seqscan", "enable_bitmapscan", "enable_hashjoin", "enable_mergejoin"] {
            assert_eq!(setting(&queue, name).await, "off", "{name} on a queue session");
        }
        for pool in [&plain, &queue] {
            assert_eq!(setting(pool, "statement_timeout").await, "1min");
            assert_eq!(setting(pool, "idle_in_transaction_session_timeout").await, "1min");
        }
        plain.close().await;
        queue.close().await;
    }

    #[tokio::test]
    async fn ping_is_false_when_nothing_listens() {
        // Port 1 on loopback: nothing listens there, the connect fails fast.
        let pool = connect(
            "postgres://postgres@127.0.0.1:1/none",
            &PoolSettings { acquire_timeout: Duration::from_millis(500), ..PoolSettings::default() },
        )
        .unwrap();
        assert!(!ping(&pool).await);
    }

    #[tokio::test]
    async fn non_postgres_urls_are_refused() {
        for url in ["mysql://nope", "127.0.0.1:5432", ""] {
            let err = connect(url, &PoolSettings::default()).unwrap_err();
            assert!(err.to_string().contains("postgres://"), "{url}: {err}");
        }
    }
}
