//! The dispatcher's queue operations: materialising scheduled runs (leader only), claiming due
//! executions, charging the monthly quota, recording outcomes, rescuing expired leases, releasing
//! work at shutdown and enforcing retention. Every function takes `now` from the caller.
//!
//! # The life of an execution row
//!
//! ```text
//!            materialise / enqueue
//!                    │
//!                    ▼
//!   ┌──────────► pending ──────── claim (FOR UPDATE SKIP LOCKED, lease) ──► running
//!   │   retry at run_at │                                                   │  │  │
//!   │                   └─ cancel (job deleted/disabled) ─► cancelled       │  │  │
//!   │                                                                       │  │  │
//!   ├──── record: retryable failure, attempts left ◄────────────────────────┘  │  │
//!   ├──── rescue: lease expired (worker died) ◄────────────────────────────────┘  │
//!   └──── release: shutdown before the call was sent ◄────────────────────────────┘
//!         record: success / failed / timeout / skipped (overlap, over quota)  ──► final
//! ```
//!
//! Writes to a `running` row are guarded by `leased_by` and `attempt`, so a worker whose lease
//! was rescued (and the row re-claimed elsewhere) cannot overwrite the newer attempt's result.

pub mod claim;
pub mod inspect;
pub mod materialise;
pub mod outcomes;
pub mod retention;

pub use claim::{Claimed, MIN_ATTEMPTS_AFTER_LOST_WORKER, RUN_OVERHEAD_BYTES, Rescued, attempt_cap, claim, claim_within, held_kib, extend_lease, release, rescue_expired};
pub use inspect::{previous_still_running, queue_depth};
pub use materialise::{DueJob, PlannedRun, advance_cursors, insert_runs, lock_due_jobs, next_cursor};
pub use outcomes::{AttemptRecord, Finished, Outcome, RecordReport, record};

#[cfg(test)]
mod tests;
