//! All of Prikke's SQL, and the one place rows become domain values: the Postgres pool, the
//! embedded migrator, one repository module per aggregate, the dispatcher's queue operations
//! (`dispatch`), the leader lock (`leader`) and the wake-up channel (`notify`). Every function
//! takes an executor (`impl PgExecutor`) so the caller chooses between the pool and a
//! transaction; queries never read the clock themselves where a caller-supplied `now` decides the
//! outcome (the dispatcher's queries take `now` as a parameter).
//!
//! What comes back is decoded: statuses, sources, schedules, policies and tiers are `domain`
//! types, decoded strictly. A stored value the domain refuses is an error naming the row, never a
//! default; on the dispatcher's paths (due jobs, claimed runs) such a row is recorded as failed
//! with the reason and the others carry on. Status names appear as literals in queue SQL where a
//! partial index needs them; tests hold every literal list to the domain's.
//!
//! Where a new piece goes: a new query goes in the module of the table it is about (a new table
//! gets its own module), with a `#[sqlx::test]` beside it; callers never write SQL.
//!
//! Queries are runtime-checked (`sqlx::query_as` with `&'static str`), and every one of them is
//! exercised by a test against a freshly migrated database (`#[sqlx::test]`).

pub mod api_keys;
pub mod audit;
pub mod billing;
pub mod completion;
pub mod dispatch;
pub mod email_tokens;
pub mod erasure;
pub mod error;
pub mod executions;
pub mod exports;
pub mod history;
pub mod idempotency;
pub mod invites;
mod job_columns;
pub mod jobs;
pub mod keyring;
pub mod leader;
pub mod mail;
pub mod monitors;
pub mod notification_channels;
pub mod notify;
pub mod organizations;
pub mod outbox;
pub mod pool;
pub mod rate_limits;
pub mod sessions;
mod schema_names;
mod tenant_rows;
pub mod signing_secrets;
pub mod status;
pub mod usage;
pub mod users;
pub mod waitlist;

pub use error::StoreError;
pub use pool::{MIGRATOR, PoolSettings, connect, connect_with, migrate};
pub use sqlx::{PgExecutor, PgPool, Postgres, Transaction};
