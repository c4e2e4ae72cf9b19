//! Pure rules and the shared vocabulary of every Prikke component: schedules, job validation,
//! Standard Webhooks signing, retry policy, tier limits, dispatch priority, API key format,
//! execution and monitor state machines, alert kinds, the runtime environment and the health
//! body.
//!
//! Nothing in this crate performs I/O or reads the clock: "now" and randomness are always
//! arguments. It compiles for `wasm32-unknown-unknown` (the edge Worker) as well as natively.
//!
//! Where a new piece goes: a rule or a name that more than one crate needs, and that needs no
//! I/O, belongs here; SQL belongs in `store`; HTTP handling in `api-fn` or `edge`; anything with
//! a clock, a socket or a task in `dispatcher`. The `openapi` feature (api-fn enables it) derives
//! the OpenAPI schemas of the types the API returns.

mod names;

pub mod account;
pub mod alert;
pub mod api_key;
pub mod audit;
pub mod billing;
pub mod email;
pub mod execution;
pub mod job;
pub mod lifetimes;
pub mod monitor;
pub mod notification;
pub mod priority;
pub mod problem;
pub mod retry;
pub mod runtime;
pub mod schedule;
pub mod sealed;
pub mod signing;
pub mod tier;

pub use names::UnknownName;
