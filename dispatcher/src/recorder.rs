//! The outcome recorder: one task per process that writes delivery outcomes in batches, each batch
//! in one short transaction. Deliveries hand their outcome over a bounded channel, so when the
//! database is slow or down the channel fills and deliveries wait: outcomes are retried until
//! written, never dropped. Runs released at shutdown go back to pending in the same way.
//!
//! Firing comes before recording. Writing outcomes is most of the dispatcher's database work, and
//! during a burst (thousands of runs due at one second) it competes with the sends for the same
//! cores. So while due runs wait for a delivery permit (the firing backlog, see
//! [`crate::limit`]), outcomes are collected in memory, not written:
//!
//! ```text
//!   collecting ──(backlog drained | oldest outcome older than max_defer | max_pending held |
//!       ▲          a release or a prompt outcome | the channel closed)──► writing: one batch
//!       │                                                  │
//!       └───── nothing held, or the backlog is back and ◄──┘ then decide again
//!              no other reason to write holds
//! ```
//!
//! The recorder keeps taking reports from the channel while it writes, so deliveries wait for it
//! only when it holds `max_pending` reports or `max_pending_bytes` of captured responses. Once the
//! oldest held outcome is `max_defer` old, it writes batch after batch until it holds nothing:
//! a burst shorter than `max_defer` is recorded after it, a longer one mostly while it goes on.
//!
//! A deferred outcome is only in memory: if the process dies, the run's lease expires and the
//! rescuer delivers it again with the same webhook-id (at-least-once, as for any crash between a
//! send and its write). `max_defer` bounds that window and how late history shows the outcome;
//! leases are taken `max_defer` longer so a deferred outcome is never older than its lease.
//! Outcomes of jobs that skip on overlap are never deferred: the job's next run reads whether
//! this one is still `running`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use store::dispatch::{self, Outcome};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::limit::AdaptiveLimit;
use crate::wake::Wake;

/// Most outcomes written per transaction.
pub const RECORD_BATCH: usize = 1_000;

#[derive(Debug)]
pub enum Report {
    Outcome(Outcome),
    /// An outcome another run waits on (its job skips a run while the previous one is still
    /// running): written without deferral, ahead of deferred ones.
    Prompt(Outcome),
    /// Claimed but never sent (shutdown): hand it back.
    /// A run claimed but never sent, with the attempt this worker holds.
    Release(Uuid, i16),
}

/// When deferred outcomes must be written even though runs are still waiting to fire.
#[derive(Debug, Clone, Copy)]
pub struct DeferPolicy {
    /// Longest an outcome waits in memory (`PRIKKE_RECORD_DEFER_MS`; zero: never defer).
    pub max_defer: Duration,
    /// Most reports held in memory, and most bytes of captured responses among them.
    pub max_pending: usize,
    pub max_pending_bytes: usize,
}

impl Default for DeferPolicy {
    fn default() -> Self {
        DeferPolicy { max_defer: Duration::from_millis(1_000), max_pending: 20 * RECORD_BATCH, max_pending_bytes: 64 << 20 }
    }
}

/// The recorder's inputs besides the channel.
pub struct Recorder {
    pub pool: PgPool,
    pub me: String,
    pub clock: SharedClock,
    pub wake: Arc<Wake>,
    /// Whose backlog makes writes wait.
    pub firing: Arc<AdaptiveLimit>,
    pub defer: DeferPolicy,
    /// How many reports are held back right now: set each time the recorder decides to wait
    /// for the firing backlog, zero once it writes (also the `prikke_outcomes_deferred` gauge).
    pub deferring: watch::Sender<usize>,
    /// Told when a write raised alerts (the alert sender's wake-up).
    pub alerts_raised: Arc<tokio::sync::Notify>,
}

impl Recorder {
    fn set_deferring(&self, n: usize) {
        if *self.deferring.borrow() != n {
            self.deferring.send_replace(n);
            metrics::gauge!("prikke_outcomes_deferred").set(n as f64);
        }
    }
}

/// Reports received and not yet written, oldest first.
#[derive(Default)]
struct Held {
    reports: VecDeque<Report>,
    /// When the oldest report held arrived.
    since: Option<Instant>,
    releases: usize,
    prompt: usize,
    bytes: usize,
}

/// Roughly what a report occupies in memory, most of it the captured response.
fn weight(report: &Report) -> usize {
    let outcome = match report {
        Report::Release(..) => return 64,
        Report::Outcome(o) | Report::Prompt(o) => o,
    };
    let record = match outcome {
        Outcome::Finished(f) => &f.record,
        Outcome::Retry { record, .. } => record,
    };
    let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let headers = record.response_headers.as_ref().map_or(0, |h| h.iter().map(|(n, v)| n.len() + v.len() + 48).sum());
    256 + text(&record.response_body) + text(&record.error) + headers
}

impl Held {
    fn take(&mut self, incoming: &mut Vec<Report>) {
        if self.reports.is_empty() && !incoming.is_empty() {
            self.since = Some(Instant::now());
        }
        for report in incoming.drain(..) {
            self.releases += usize::from(matches!(report, Report::Release(..)));
            self.bytes += weight(&report);
            if matches!(report, Report::Prompt(_)) {
                self.prompt += 1;
                self.reports.push_front(report); // into the next batch
            } else {
                self.reports.push_back(report);
            }
        }
    }

    fn has_room(&self, p: &DeferPolicy) -> bool {
        self.room(p) > 0
    }

    /// How many more reports may be taken (at most one batch at a time).
    fn room(&self, p: &DeferPolicy) -> usize {
        if self.bytes >= p.max_pending_bytes {
            return 0;
        }
        p.max_pending.saturating_sub(self.reports.len()).min(RECORD_BATCH)
    }

    /// The oldest batch, split into outcomes and releases.
    fn next_batch(&mut self) -> (Vec<Outcome>, Vec<(Uuid, i16)>) {
        let n = self.reports.len().min(RECORD_BATCH);
        let mut outcomes = Vec::with_capacity(n);
        let mut released = Vec::new();
        for report in self.reports.drain(..n) {
            self.bytes -= weight(&report);
            match report {
                Report::Outcome(o) => outcomes.push(o),
                Report::Prompt(o) => {
                    self.prompt -= 1;
                    outcomes.push(o);
                }
                Report::Release(id, attempt) => released.push((id, attempt)),
            }
        }
        self.releases -= released.len();
        if self.reports.is_empty() {
            self.since = None;
        }
        (outcomes, released)
    }
}

/// Writes reports until every sender is gone and everything received is written. When `abandon`
/// fires (well after shutdown) while the database is unreachable, the unwritten batch is dropped:
/// its leases expire and the rescuer of a surviving instance re-runs it with the same webhook-id.
pub async fn run(r: Recorder, mut rx: mpsc::Receiver<Report>, abandon: CancellationToken) {
    let mut held = Held::default();
    let mut incoming = Vec::with_capacity(RECORD_BATCH);
    let mut open = true;
    loop {
        if held.reports.is_empty() {
            if !open {
                break;
            }
            if rx.recv_many(&mut incoming, RECORD_BATCH).await == 0 {
                open = false;
                continue;
            }
            held.take(&mut incoming);
        }
        // whatever else has arrived, without waiting
        while open && held.has_room(&r.defer) {
            match rx.try_recv() {
                Ok(report) => incoming.push(report),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => open = false,
            }
        }
        held.take(&mut incoming);
        if open && !must_write(&r, &held) {
            r.set_deferring(held.reports.len());
            let deadline = held.since.unwrap_or_else(Instant::now) + r.defer.max_defer;
            let room = held.room(&r.defer);
            tokio::select! {
                _ = r.firing.backlog_drained() => {}
                _ = tokio::time::sleep_until(deadline) => {}
                n = rx.recv_many(&mut incoming, room), if room > 0 => {
                    open = n > 0;
                    held.take(&mut incoming);
                }
            }
            continue;
        }
        r.set_deferring(0);
        let (outcomes, released) = held.next_batch();
        let write = write_until_done(&r, &outcomes, &released, &abandon);
        tokio::pin!(write);
        // keep taking reports while the batch is written, so deliveries do not wait for it
        loop {
            let room = if open { held.room(&r.defer) } else { 0 };
            tokio::select! {
                biased;
                () = &mut write => break,
                n = rx.recv_many(&mut incoming, room), if room > 0 => {
                    open = n > 0;
                    held.take(&mut incoming);
                }
            }
        }
        for o in &outcomes {
            if let Outcome::Retry { run_at, .. } = o {
                r.wake.hint(*run_at);
            }
        }
        // runs handed back are pending again: claim them now, not at the next poll
        if !released.is_empty() {
            r.wake.now();
        }
    }
}

/// Whether the held reports are to be written now rather than after the firing backlog.
fn must_write(r: &Recorder, held: &Held) -> bool {
    r.firing.backlog() == 0
        || held.releases > 0
        || held.prompt > 0
        || !held.has_room(&r.defer)
        || held.since.is_none_or(|t| t.elapsed() >= r.defer.max_defer)
}

async fn write_until_done(r: &Recorder, outcomes: &[Outcome], released: &[(Uuid, i16)], abandon: &CancellationToken) {
    let mut backoff = Duration::from_millis(50);
    loop {
        match write(r, outcomes, released).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, pending = outcomes.len() + released.len(), "recording outcomes failed; retrying");
                tokio::select! {
                    _ = abandon.cancelled() => {
                        tracing::error!(lost = outcomes.len() + released.len(), "gave up recording at shutdown; leases will expire and be rescued");
                        return;
                    }
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn write(r: &Recorder, outcomes: &[Outcome], released: &[(Uuid, i16)]) -> Result<(), store::StoreError> {
    if !outcomes.is_empty() {
        let mut tx = r.pool.begin().await?;
        let report = dispatch::record(&mut tx, &r.me, outcomes).await?;
        tx.commit().await?;
        if report.alerts > 0 {
            r.alerts_raised.notify_one();
        }
        metrics::histogram!("prikke_record_batch_size").record(outcomes.len() as f64);
        if report.stale > 0 {
            tracing::warn!(stale = report.stale, "outcomes for leases that had expired were not written (the runs were rescued)");
        }
    }
    if !released.is_empty() {
        let n = dispatch::release(&r.pool, &r.me, released, r.clock.now()).await?;
        tracing::info!(released = n, "handed back runs that were claimed but not sent");
    }
    Ok(())
}
