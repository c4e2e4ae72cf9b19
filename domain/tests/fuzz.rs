//! Property-based fuzzing of the parsers and rules that take untrusted input: cron expressions
//! and time zones, schedule computation, job drafts, headers and webhook signatures.
//!
//! Cases per property: `PRIKKE_FUZZ_CASES` (default in `fuzz/common.rs`); a failure is shrunk,
//! written to `tests/fuzz/regressions/<target>.txt` and replayed first on every later run (commit
//! that file); the seed corpus in `tests/fuzz/corpus/` runs in full every time. Longer runs:
//! `PRIKKE_FUZZ_CASES=100000 cargo test -p domain --release --test fuzz`.

#[path = "fuzz/common.rs"]
mod common;
#[path = "fuzz/cron.rs"]
mod cron;
#[path = "fuzz/headers.rs"]
mod headers;
#[path = "fuzz/job.rs"]
mod job;
#[path = "fuzz/signing.rs"]
mod signing;
