//! Prikke's edge: the Cloudflare Worker every visitor and API client reaches first. It serves the
//! landing page, documentation, use cases and status page, takes waitlist sign-ups, forwards
//! `/api`, `/app`, `/ping` and `/billing` to api-fn, and puts security headers and per-client rate limits on
//! everything.
//!
//! The decisions (routing, header policy, validation, rate-limit arithmetic, page rendering) are
//! plain Rust modules tested natively with `cargo test -p edge`; `runtime` is the thin layer that
//! talks to the Workers runtime and only builds for wasm32.
//!
//! The edge depends on `domain` alone (never on `store`: it has no database): what it shares with
//! the API (e-mail rules, `PRIKKE_ENV`, the `/health` body, the problem-type base) comes from
//! there. A new page or route is a module here; anything that needs data is api-fn's, forwarded.

pub mod config;
/// The e-mail rules live in `domain`, shared with the API, so both accept the same addresses.
pub use domain::email;
pub mod forwarding;
pub mod health;
pub mod pages;
pub mod problem;
pub mod rate_limit;
pub mod routes;
pub mod security_headers;
pub mod waitlist;

#[cfg(target_arch = "wasm32")]
mod runtime;
