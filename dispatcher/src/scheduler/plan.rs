//! Pure planning of one job's occurrences for one scheduler tick: which occurrences between the
//! job's cursor and the look-ahead horizon become runs, which are recorded as skipped (missed-run
//! policy, plan limits), and where the cursor moves next.
//!
//! An occurrence earlier than `now - missed_grace` is *missed* (the dispatcher was down, the job
//! was paused, or the leader changed); a later one is merely late or still ahead and always
//! runs. Missed occurrences follow the job's [`CatchUp`] policy: run the most recent one, run the
//! most recent `cap`, or skip them all; every skipped occurrence is recorded with its reason.

use chrono::{DateTime, Duration, Utc};
use domain::job::CatchUp;
use domain::schedule::Schedule;

/// Most occurrences one job contributes to one tick; a longer backlog continues next tick.
pub const MAX_OCCURRENCES_PER_TICK: usize = 10_000;
/// Most skipped occurrences recorded individually per job per tick; older ones are counted in
/// the reason of the oldest recorded one.
pub const MAX_RECORDED_SKIPS: usize = 100;

#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    pub schedule: &'a Schedule,
    /// The job's `next_run_at`: the first occurrence not yet materialised.
    pub cursor: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub horizon: DateTime<Utc>,
    pub missed_grace: Duration,
    pub catch_up: CatchUp,
    /// `Some(reason)` when the organization's plan does not allow this schedule any more (e.g. a
    /// minute cron after a downgrade to Free): every occurrence is recorded as skipped.
    pub refused_by_plan: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Occurrences to record, oldest first: `None` = run it, `Some(reason)` = skipped.
    pub occurrences: Vec<(DateTime<Utc>, Option<String>)>,
    /// The next cursor: the first occurrence after those planned (`None` = nothing left).
    pub next_cursor: Option<DateTime<Utc>>,
}

pub fn plan(input: &PlanInput<'_>) -> Plan {
    let mut occurrences = Vec::new();
    let mut next = Some(input.cursor);
    while let Some(at) = next {
        if at > input.horizon || occurrences.len() >= MAX_OCCURRENCES_PER_TICK {
            break;
        }
        occurrences.push(at);
        next = input.schedule.next_after(at);
    }
    let missed_before = input.now - input.missed_grace;
    let split = occurrences.partition_point(|at| *at < missed_before);
    // Only when this tick reached the present do we know which missed occurrences are the most
    // recent; a tick cut short by MAX_OCCURRENCES_PER_TICK skips its whole (older) chunk.
    let reached_present = next.is_none_or(|n| n >= missed_before);
    let keep = if reached_present { input.catch_up.runs_for(split) } else { 0 };
    let skip_reason = missed_reason(input.catch_up);

    let skipped_missed = split - keep;
    let unrecorded = skipped_missed.saturating_sub(MAX_RECORDED_SKIPS);
    let mut planned: Vec<(DateTime<Utc>, Option<String>)> = Vec::with_capacity(occurrences.len() - unrecorded);
    for (i, at) in occurrences.iter().enumerate() {
        if i < unrecorded {
            continue;
        }
        let reason = if i < skipped_missed {
            if i == unrecorded && unrecorded > 0 {
                Some(format!("{skip_reason} ({unrecorded} earlier missed occurrences are not listed)"))
            } else {
                Some(skip_reason.clone())
            }
        } else {
            input.refused_by_plan.clone()
        };
        planned.push((*at, reason));
    }
    Plan { occurrences: planned, next_cursor: next }
}

fn missed_reason(policy: CatchUp) -> String {
    let head = "missed: it came due while the scheduler was unavailable or the job was paused";
    match policy {
        CatchUp::RunOnce => format!("{head}; the missed-run policy runs only the most recent missed occurrence"),
        CatchUp::RunAll { cap } => format!("{head}; the missed-run policy replays at most {} missed occurrences", cap.get()),
        CatchUp::Skip => format!("{head}; the missed-run policy skips missed occurrences"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use domain::job::CatchUpCap;

    fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, h, m, s).unwrap()
    }

    fn input<'a>(schedule: &'a Schedule, cursor: DateTime<Utc>, now: DateTime<Utc>, catch_up: CatchUp) -> PlanInput<'a> {
        PlanInput {
            schedule,
            cursor,
            now,
            horizon: now + Duration::seconds(5),
            missed_grace: Duration::seconds(60),
            catch_up,
            refused_by_plan: None,
        }
    }

    fn runs(p: &Plan) -> Vec<DateTime<Utc>> {
        p.occurrences.iter().filter(|o| o.1.is_none()).map(|o| o.0).collect()
    }

    #[test]
    fn a_due_occurrence_within_the_lookahead_runs_and_the_cursor_moves_on() {
        let every_minute = Schedule::cron("* * * * *", "UTC").unwrap();
        let p = plan(&input(&every_minute, t(10, 0, 0), t(9, 59, 57), CatchUp::RunOnce));
        assert_eq!(p.occurrences, vec![(t(10, 0, 0), None)]);
        assert_eq!(p.next_cursor, Some(t(10, 1, 0)));
        let nothing_yet = plan(&input(&every_minute, t(10, 1, 0), t(10, 0, 1), CatchUp::RunOnce));
        assert!(nothing_yet.occurrences.is_empty());
        assert_eq!(nothing_yet.next_cursor, Some(t(10, 1, 0)), "the cursor stays when nothing is due");
    }

    #[test]
    fn slightly_late_is_not_missed() {
        let every_minute = Schedule::cron("* * * * *", "UTC").unwrap();
        let p = plan(&input(&every_minute, t(10, 0, 0), t(10, 0, 30), CatchUp::Skip));
        assert_eq!(runs(&p), vec![t(10, 0, 0)], "30 s late, within the 60 s grace: it runs even under skip");
    }

    #[test]
    fn catch_up_policies_after_downtime() {
        let every_minute = Schedule::cron("* * * * *", "UTC").unwrap();
        // down from 10:00 to 10:10:02: 10:00 … 10:09 are missed (older than the 60 s grace);
        // 10:10 is merely late; the horizon (10:10:07) ends the plan there.
        let now = t(10, 10, 2);
        let once = plan(&input(&every_minute, t(10, 0, 0), now, CatchUp::RunOnce));
        assert_eq!(runs(&once), vec![t(10, 9, 0), t(10, 10, 0)]);
        assert_eq!(once.occurrences.len(), 11, "the other nine are recorded as skipped");
        assert!(once.occurrences[0].1.as_deref().unwrap().contains("most recent missed"));

        let all = plan(&input(&every_minute, t(10, 0, 0), now, CatchUp::RunAll { cap: CatchUpCap::new(3).unwrap() }));
        assert_eq!(runs(&all), vec![t(10, 7, 0), t(10, 8, 0), t(10, 9, 0), t(10, 10, 0)]);

        let skip = plan(&input(&every_minute, t(10, 0, 0), now, CatchUp::Skip));
        assert_eq!(runs(&skip), vec![t(10, 10, 0)]);
        assert_eq!(skip.next_cursor, Some(t(10, 11, 0)));
    }

    #[test]
    fn long_downtime_records_at_most_a_hundred_skips_and_says_how_many_more() {
        let every_minute = Schedule::cron("* * * * *", "UTC").unwrap();
        let now = t(14, 0, 30); // 10:00 … 13:59 missed (240 occurrences)
        let p = plan(&input(&every_minute, t(10, 0, 0), now, CatchUp::RunOnce));
        let skipped: Vec<_> = p.occurrences.iter().filter(|o| o.1.is_some()).collect();
        assert_eq!(skipped.len(), MAX_RECORDED_SKIPS);
        assert!(skipped[0].1.as_deref().unwrap().contains("139 earlier missed occurrences"), "{:?}", skipped[0].1);
        assert_eq!(runs(&p), vec![t(13, 59, 0), t(14, 0, 0)]);
        assert_eq!(p.occurrences.len(), MAX_RECORDED_SKIPS + 2);
    }

    #[test]
    fn a_backlog_longer_than_one_tick_runs_only_once_it_reaches_the_present() {
        let every_minute = Schedule::cron("* * * * *", "UTC").unwrap();
        let now = Utc.with_ymd_and_hms(2026, 6, 30, 0, 0, 0).unwrap(); // ~29 days of minutes
        let first = plan(&input(&every_minute, t(0, 0, 0), now, CatchUp::RunOnce));
        assert!(runs(&first).is_empty(), "an older chunk only skips");
        assert_eq!(first.next_cursor, Some(t(0, 0, 0) + Duration::minutes(MAX_OCCURRENCES_PER_TICK as i64)));
    }

    #[test]
    fn once_schedules_fire_once_then_end() {
        let once = Schedule::Once(t(10, 0, 3));
        let p = plan(&input(&once, t(10, 0, 3), t(10, 0, 0), CatchUp::RunOnce));
        assert_eq!(p.occurrences, vec![(t(10, 0, 3), None)]);
        assert_eq!(p.next_cursor, None);
        let missed = plan(&input(&once, t(10, 0, 3), t(12, 0, 0), CatchUp::Skip));
        assert!(missed.occurrences[0].1.is_some());
        assert_eq!(missed.next_cursor, None);
    }

    #[test]
    fn a_schedule_the_plan_no_longer_allows_is_recorded_as_skipped() {
        let every_minute = Schedule::cron("* * * * *", "UTC").unwrap();
        let mut i = input(&every_minute, t(10, 0, 0), t(10, 0, 0), CatchUp::RunOnce);
        i.refused_by_plan = Some("the Free plan allows hourly schedules".into());
        let p = plan(&i);
        assert_eq!(p.occurrences, vec![(t(10, 0, 0), Some("the Free plan allows hourly schedules".into()))]);
        assert_eq!(p.next_cursor, Some(t(10, 1, 0)));
    }
}
