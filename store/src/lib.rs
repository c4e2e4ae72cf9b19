//! All of Prikke's SQL: the Postgres pool, the embedded migrator and one repository module per
//! aggregate. Every function takes an executor (`impl PgExecutor`) so the caller chooses between
//! the pool and a transaction; queries never read the clock themselves where a caller-supplied
//! `now` decides the outcome (the dispatcher's queries take `now` as a parameter).
//!
//! Queries are runtime-checked (`sqlx::query_as` with `&'static str`), and every one of them is
//! exercised by a test against a freshly migrated database (`#[sqlx::test]`).

pub mod api_keys;
pub mod dispatch;
pub mod error;
pub mod executions;
pub mod idempotency;
pub mod jobs;
pub mod monitors;
pub mod organizations;
pub mod pool;
pub mod rate_limits;
pub mod signing_secrets;
pub mod status;
pub mod usage;
pub mod users;
pub mod waitlist;

pub use error::StoreError;
pub use pool::{MIGRATOR, PoolSettings, connect, connect_with, migrate};
pub use sqlx::{PgExecutor, PgPool, Postgres, Transaction};
