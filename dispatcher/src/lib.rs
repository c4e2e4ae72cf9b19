//! Prikke's dispatcher: turns jobs into delivered, signed, recorded HTTP calls, on time, under
//! load, across crashes and with several instances on one database (exactly one schedules, all
//! deliver, none duplicates work).
//!
//! Tasks of one process (see each module for its state machine):
//! - [`leader`]: session advisory lock on a dedicated connection; publishes leadership;
//! - [`scheduler`] (leader only): materialises runs within the look-ahead, advances cursors;
//! - [`listen`]: LISTEN `prikke_due` → wake-ups;
//! - [`pump`]: claims due runs (SKIP LOCKED, leased), fires each at its instant, signs and
//!   delivers it, decides retries;
//! - [`recorder`]: writes outcomes in batches, after the firing backlog during a burst;
//! - [`maintenance`]: heartbeat, rescuer of expired leases, retention and metrics (leader);
//! - [`ops`]: /health and /metrics.
//!
//! What is not here: SQL (every query, the leader lock and the wake-up channel are in `store`,
//! which hands back decoded domain values) and rules without I/O (`domain`). A new background
//! task goes in its own module and is started from [`Dispatcher::start`].
//!
//! Shutdown (SIGTERM): stop claiming and scheduling, hand back runs not yet sent, let in-flight
//! deliveries finish within the grace period, hand back the rest, flush the recorder. A handed
//! back run is pending again with its attempt not counted (and a first attempt's quota charge
//! refunded), whether or not its call had been sent: a call cut off at the grace limit may have
//! reached the receiver, and the next delivery carries the same `webhook-id`.

pub mod alerts;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod erasure;
pub mod lanes;
pub mod leader;
pub mod limit;
pub mod listen;
pub mod maintenance;
pub mod ops;
pub mod pump;
pub mod recorder;
pub mod scheduler;
pub mod secrets;
pub mod status;
pub mod wake;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use clock::{Clock, OffsetClock, SharedClock, SystemClock};
pub use config::DispatcherConfig;
use status::Status;

/// Why the dispatcher could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("DATABASE_URL is not usable: {0}")]
    Database(#[source] sqlx::Error),
    #[error("the HTTP client could not be built: {0}")]
    Delivery(String),
}

/// A running dispatcher: its pool and status, and the handle to stop it.
pub struct Dispatcher {
    pub pool: PgPool,
    pub status: Arc<Status>,
    pub instance_id: String,
    shutdown: CancellationToken,
    done: JoinHandle<()>,
}

impl Dispatcher {
    /// Starts every task of the dispatcher and returns at once.
    pub fn start(config: DispatcherConfig, clock: SharedClock) -> Result<Dispatcher, StartError> {
        let pool = store::connect(
            &config.database_url,
            &store::PoolSettings {
                max_connections: config.db_max_connections,
                min_connections: 2,
                application_name: "prikke-dispatcher",
                session: store::pool::QUEUE_SESSION,
                ..Default::default()
            },
        )
        .map_err(StartError::Database)?;
        let options: PgConnectOptions = config.database_url.parse().map_err(StartError::Database)?;
        let deliverer = delivery::Deliverer::new(delivery::DeliveryConfig {
            allow_targets: config.allow_targets.clone(),
            allow_ports: config.allow_ports.clone(),
            per_host_concurrency: config.per_host_concurrency,
            // Keep as many idle connections per host as may be in flight to it: a smaller idle
            // pool closes and reopens connections under load (measured: a fifth of the CPU went
            // to connect/shutdown with 32 idle and 512 in flight).
            pool_idle_per_host: config.per_host_concurrency,
            response_body_cap: config.response_body_cap,
            ..delivery::DeliveryConfig::default()
        })
        .map_err(|e| StartError::Delivery(e.to_string()))?;

        let shutdown = CancellationToken::new();
        let status = Arc::new(Status::new());
        let wake = Arc::new(wake::Wake::new(clock.clone(), config.prefetch));
        let (leader_tx, leader_rx) = watch::channel(false);
        let (reports_tx, reports_rx) = mpsc::channel(4 * recorder::RECORD_BATCH);
        let background = TaskTracker::new();
        let deliveries = TaskTracker::new();
        let hard_stop = CancellationToken::new();
        let abandon = CancellationToken::new();

        background.spawn(leader::run(options, config.leader_poll, leader_tx, shutdown.clone()));
        {
            let mut rx = leader_rx.clone();
            let status = status.clone();
            background.spawn(async move {
                loop {
                    status.set_leader(*rx.borrow_and_update());
                    if rx.changed().await.is_err() {
                        status.set_leader(false);
                        break;
                    }
                }
            });
        }
        background.spawn(scheduler::run(
            pool.clone(),
            clock.clone(),
            scheduler::TickSettings {
                lookahead: chrono::Duration::from_std(config.lookahead).unwrap_or_default(),
                missed_grace: chrono::Duration::from_std(config.missed_grace).unwrap_or_default(),
            },
            leader_rx,
            status.clone(),
            shutdown.clone(),
        ));
        // wakes the alert sender: alerts raised here, account e-mails queued anywhere
        let alerts_raised = Arc::new(tokio::sync::Notify::new());
        let deleting = Arc::new(erasure::Deleting::default());
        background.spawn(listen::run(pool.clone(), wake.clone(), alerts_raised.clone(), deleting.clone(), shutdown.clone()));
        background.spawn(maintenance::heartbeat(
            pool.clone(),
            clock.clone(),
            config.instance_id.clone(),
            config.sha.clone(),
            status.clone(),
            config.heartbeat_every,
            shutdown.clone(),
        ));
        background.spawn(maintenance::rescuer(pool.clone(), clock.clone(), wake.clone(), config.rescue_every, shutdown.clone()));
        let keyring = Arc::new(store::keyring::Keyring::new(config.master_keys.clone()));
        background.spawn(maintenance::leader_chores(
            pool.clone(),
            keyring.clone(),
            clock.clone(),
            status.clone(),
            config.retention_every,
            alerts_raised.clone(),
            shutdown.clone(),
        ));
        let secrets = Arc::new(secrets::SecretCache::new(Duration::from_secs(10), keyring));
        background.spawn(alerts::run(
            alerts::Sender {
                pool: pool.clone(),
                me: config.instance_id.clone(),
                clock: clock.clone(),
                // its own client, pool and per-host limit: alerts never wait for job deliveries
                deliverer: delivery::Deliverer::new(delivery::DeliveryConfig {
                    allow_targets: config.allow_targets.clone(),
                    allow_ports: config.allow_ports.clone(),
                    per_host_concurrency: config.alerts.concurrency,
                    pool_idle_per_host: 2,
                    resolve: config.alert_resolve.clone(),
                    extra_root_certificates_pem: config.alert_root_certificates_pem.clone(),
                    ..delivery::DeliveryConfig::default()
                })
                .map_err(|e| StartError::Delivery(e.to_string()))?,
                mailer: match &config.smtp_url {
                    Some(url) => Some(alerts::email::Mailer::new(url, &config.smtp_from).map_err(StartError::Delivery)?),
                    None => None,
                },
                secrets: secrets.clone(),
                settings: config.alerts.clone(),
                raised: alerts_raised.clone(),
            },
            shutdown.clone(),
        ));
        let limit = Arc::new(limit::AdaptiveLimit::new(config.concurrency_min, config.concurrency_max));
        let recorder = tokio::spawn(recorder::run(
            recorder::Recorder {
                pool: pool.clone(),
                me: config.instance_id.clone(),
                clock: clock.clone(),
                wake: wake.clone(),
                firing: limit.clone(),
                defer: recorder::DeferPolicy { max_defer: config.record_defer, ..Default::default() },
                deferring: watch::channel(0).0,
                alerts_raised,
            },
            reports_rx,
            abandon.clone(),
        ));

        let ctx = pump::Ctx {
            pool: pool.clone(),
            me: config.instance_id.clone().into(),
            clock,
            deliverer,
            secrets,
            reports: reports_tx,
            wake,
            status: status.clone(),
            limit,
            held: Arc::new(tokio::sync::Semaphore::new(config.prefetch_max)),
            held_capacity: config.prefetch_max,
            held_bytes: Arc::new(tokio::sync::Semaphore::new(config.prefetch_bytes / 1024)),
            held_bytes_capacity: config.prefetch_bytes / 1024,
            shutdown: shutdown.clone(),
            hard_stop: hard_stop.clone(),
            completion_base: format!("{}/ping/c/", config.alerts.public_url).into(),
            lease_margin: config.lease_margin + config.record_defer,
            org_shares: delivery::HostLimiter::new(1),
            concurrency_max: config.concurrency_max,
            deleting,
        };
        let settings = pump::PumpSettings {
            claim_batch: config.claim_batch,
            claim_batch_max: config.claim_batch_max,
            prefetch: config.prefetch,
            poll: config.poll,
            // an outcome may wait up to record_defer in memory: the lease covers that wait too
            lease_margin: config.lease_margin + config.record_defer,
        };
        let pump = tokio::spawn(pump::run(ctx, settings, deliveries.clone()));

        let grace = config.shutdown_grace;
        let stop = shutdown.clone();
        let done = tokio::spawn(async move {
            stop.cancelled().await;
            let _ = pump.await;
            deliveries.close();
            if tokio::time::timeout(grace, deliveries.wait()).await.is_err() {
                tracing::warn!("shutdown grace elapsed; handing back deliveries still in flight");
                hard_stop.cancel();
                deliveries.wait().await;
            }
            // the pump's context (and with it the last report sender) is gone: the recorder
            // drains what is left and stops
            let abandon_later = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(10)).await;
                abandon.cancel();
            });
            let _ = recorder.await;
            abandon_later.abort();
            background.close();
            background.wait().await;
            tracing::info!("dispatcher stopped");
        });
        Ok(Dispatcher { pool, status, instance_id: config.instance_id, shutdown, done })
    }

    /// Asks every task to stop (as SIGTERM does) without waiting.
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Stops gracefully and waits until everything is handed back or recorded.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.done.await;
    }

    /// Waits for a shutdown begun elsewhere to complete.
    pub async fn stopped(self) {
        let _ = self.done.await;
    }
}
