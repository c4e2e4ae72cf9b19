//! Pure rules shared by every Prikke component: schedules, job validation, Standard Webhooks
//! signing, retry policy, tier limits, dispatch priority and API key format.
//!
//! Nothing in this crate performs I/O or reads the clock: "now" and randomness are always
//! arguments. It compiles for `wasm32-unknown-unknown` (the edge Worker) as well as natively.

pub mod api_key;
pub mod email;
pub mod job;
pub mod priority;
pub mod retry;
pub mod schedule;
pub mod signing;
pub mod tier;
