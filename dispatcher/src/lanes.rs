//! Where claimed runs wait, as rows, until they may become tasks.
//!
//! A lane is one organization's runs to one site (the per-host limit's key: a registrable
//! domain or an IP literal). A lane runs at most `cap` firing tasks at once, `cap` being the
//! per-host limit: a task more could only wait for that host's slot. Its other runs wait in
//! the lane in claim order (priority first, then instant) and start as its tasks finish.
//!
//! ```text
//!  claimed run ──► admit: lane has < cap tasks? ──yes──► a task now (waits for its instant)
//!                                 │no
//!                                 ▼
//!                  queued in the lane (a row: no task, no request built yet)
//!                                 │ a task of the lane finishes: done() starts the next
//!                                 ▼
//!                             a task
//! ```
//!
//! Why: a task waiting for its instant or its host costs kilobytes (its state, the built and
//! signed request), a row a few hundred bytes. With every held run a task, 10,000 runs due at
//! one second to one host were 10,000 tasks while 64 could be sent; now they are 64 tasks and
//! 9,936 rows. Fairness is unchanged: lanes are per organization and per site, so a slow site
//! fills only its own lanes, and the tasks still wait for the host slot, the organization's
//! share and the delivery permit as before.
//!
//! Queued runs count in the firing backlog ([`AdaptiveLimit`]): a lane has a queue only when
//! more runs to one site are held than can be sent to it at once.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::limit::AdaptiveLimit;

/// One organization's runs to one site.
pub type LaneKey = (Uuid, String);

/// A run's place in its lane's queue: higher priority first, then the earlier instant, then
/// the order it came in (the claim's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    priority: Reverse<i16>,
    run_at: DateTime<Utc>,
    seq: u64,
}

struct Queued<T> {
    place: Place,
    item: T,
}

impl<T> PartialEq for Queued<T> {
    fn eq(&self, other: &Self) -> bool {
        self.place == other.place
    }
}
impl<T> Eq for Queued<T> {}
impl<T> PartialOrd for Queued<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Queued<T> {
    // BinaryHeap pops the greatest: the least place is the greatest entry
    fn cmp(&self, other: &Self) -> Ordering {
        other.place.cmp(&self.place)
    }
}

struct Lane<T> {
    tasks: usize,
    queue: BinaryHeap<Queued<T>>,
}

struct Inner<T> {
    lanes: HashMap<LaneKey, Lane<T>>,
    seq: u64,
}

pub struct Lanes<T> {
    inner: Mutex<Inner<T>>,
    cap: usize,
    backlog: Arc<AdaptiveLimit>,
}

impl<T> Lanes<T> {
    /// Lanes of at most `cap` tasks each; queued runs count in `backlog`'s firing backlog.
    pub fn new(cap: usize, backlog: Arc<AdaptiveLimit>) -> Self {
        Lanes { inner: Mutex::new(Inner { lanes: HashMap::new(), seq: 0 }), cap: cap.max(1), backlog }
    }

    /// A claimed run for `key`: given back when its lane has room for a task (start it, and
    /// call [`Lanes::done`] when it finishes), else queued.
    pub fn admit(&self, key: LaneKey, priority: i16, run_at: DateTime<Utc>, item: T) -> Option<T> {
        let mut inner = self.inner.lock().expect("lanes lock");
        inner.seq += 1;
        let place = Place { priority: Reverse(priority), run_at, seq: inner.seq };
        let lane = inner.lanes.entry(key).or_insert_with(|| Lane { tasks: 0, queue: BinaryHeap::new() });
        if lane.tasks < self.cap {
            lane.tasks += 1;
            return Some(item);
        }
        lane.queue.push(Queued { place, item });
        self.backlog.enter_backlog();
        None
    }

    /// A task of `key`'s lane finished: the lane's next run to start as a task, if one waits.
    pub fn done(&self, key: &LaneKey) -> Option<T> {
        let mut inner = self.inner.lock().expect("lanes lock");
        let lane = inner.lanes.get_mut(key)?;
        if let Some(next) = lane.queue.pop() {
            self.backlog.leave_backlog();
            return Some(next.item);
        }
        lane.tasks = lane.tasks.saturating_sub(1);
        if lane.tasks == 0 {
            inner.lanes.remove(key);
        }
        None
    }

    /// Takes every queued run out (shutdown: they are handed back unstarted).
    pub fn drain(&self) -> Vec<T> {
        let mut inner = self.inner.lock().expect("lanes lock");
        let mut out = Vec::new();
        for lane in inner.lanes.values_mut() {
            out.extend(std::mem::take(&mut lane.queue).into_iter().map(|q| q.item));
        }
        inner.lanes.retain(|_, lane| lane.tasks > 0);
        for _ in &out {
            self.backlog.leave_backlog();
        }
        out
    }

    /// Runs waiting in a lane (not tasks).
    pub fn queued(&self) -> usize {
        self.inner.lock().expect("lanes lock").lanes.values().map(|l| l.queue.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn a_lane_starts_cap_tasks_and_queues_the_rest_in_claim_order() {
        let limit = Arc::new(AdaptiveLimit::new(1, 1));
        let lanes = Lanes::new(2, limit.clone());
        let a = (Uuid::from_u128(1), "example.com".to_owned());
        let b = (Uuid::from_u128(2), "example.com".to_owned());
        assert_eq!(lanes.admit(a.clone(), 0, at(0), "a1"), Some("a1"));
        assert_eq!(lanes.admit(a.clone(), 0, at(0), "a2"), Some("a2"));
        assert_eq!(lanes.admit(a.clone(), 0, at(5), "a-late"), None, "the lane is full");
        assert_eq!(lanes.admit(a.clone(), 0, at(1), "a-sooner"), None);
        assert_eq!(lanes.admit(a.clone(), 3, at(9), "a-urgent"), None);
        assert_eq!(lanes.admit(a.clone(), 0, at(1), "a-sooner-2"), None);
        // another organization's lane to the same site is its own
        assert_eq!(lanes.admit(b.clone(), 0, at(0), "b1"), Some("b1"));
        assert_eq!((lanes.queued(), limit.backlog()), (4, 4), "queued runs are the firing backlog");
        assert_eq!(lanes.done(&a), Some("a-urgent"), "priority first");
        assert_eq!(lanes.done(&a), Some("a-sooner"), "then the earlier instant");
        assert_eq!(lanes.done(&a), Some("a-sooner-2"), "then the order they came in");
        assert_eq!(lanes.done(&a), Some("a-late"));
        assert_eq!(limit.backlog(), 0);
        assert_eq!(lanes.done(&a), None);
        assert_eq!(lanes.admit(a.clone(), 0, at(0), "a3"), Some("a3"), "one task left: room for another");
        assert_eq!(lanes.admit(a.clone(), 0, at(0), "a4"), None);
        assert_eq!(lanes.done(&a), Some("a4"));
        assert_eq!(lanes.done(&a), None);
        assert_eq!(lanes.done(&a), None);
        assert_eq!(lanes.done(&b), None);
        assert!(lanes.inner.lock().unwrap().lanes.is_empty(), "lanes without tasks are forgotten");
    }

    #[test]
    fn draining_hands_back_every_queued_run_and_keeps_the_running_lanes() {
        let limit = Arc::new(AdaptiveLimit::new(1, 1));
        let lanes = Lanes::new(1, limit.clone());
        let a = (Uuid::from_u128(1), "example.com".to_owned());
        assert_eq!(lanes.admit(a.clone(), 0, at(0), 1), Some(1));
        assert_eq!(lanes.admit(a.clone(), 0, at(0), 2), None);
        assert_eq!(lanes.admit(a.clone(), 0, at(0), 3), None);
        let mut drained = lanes.drain();
        drained.sort();
        assert_eq!(drained, vec![2, 3]);
        assert_eq!((lanes.queued(), limit.backlog()), (0, 0));
        assert_eq!(lanes.done(&a), None, "nothing left to start");
        assert_eq!(lanes.admit(a, 0, at(0), 4), Some(4));
    }
}
