//! How a job's run policies are stored, both ways: the schedule (`schedule_kind`, `cron_expr`,
//! `timezone`, `once_at`), the missed-run policy (`catch_up`, `catch_up_cap`), the overlap
//! policy (`overlap`) and the retry policy (three integers, on jobs and on executions). Every
//! reader of these columns decodes them here, strictly: a value the domain refuses is an error
//! naming what is wrong, never a default.

use chrono::{DateTime, Utc};
use domain::job::{CatchUp, CatchUpCap, Overlap};
use domain::retry::RetryPolicy;
use domain::schedule::Schedule;

/// The schedule columns of `schedule`: (kind, cron_expr, timezone, once_at).
pub(crate) fn schedule_columns(schedule: &Schedule) -> (&'static str, Option<String>, String, Option<DateTime<Utc>>) {
    match schedule {
        Schedule::Cron(c) => (schedule.kind(), Some(c.expr().to_owned()), c.timezone().name().to_owned(), None),
        Schedule::Once(at) => (schedule.kind(), None, "UTC".to_owned(), Some(*at)),
    }
}

pub(crate) fn schedule_of(kind: &str, cron_expr: Option<&str>, timezone: &str, once_at: Option<DateTime<Utc>>) -> Result<Schedule, String> {
    match (kind, cron_expr, once_at) {
        ("cron", Some(expr), _) => Schedule::cron(expr, timezone).map_err(|e| format!("schedule {expr:?} in {timezone:?}: {e}")),
        ("once", _, Some(at)) => Ok(Schedule::Once(at)),
        _ => Err(format!("schedule columns: kind {kind:?} with cron_expr {cron_expr:?} and once_at {once_at:?}")),
    }
}

/// (catch_up, catch_up_cap); the cap column holds the default where the mode has none.
pub(crate) fn catch_up_columns(catch_up: CatchUp) -> (&'static str, i16) {
    let unused = CatchUpCap::DEFAULT.get() as i16;
    match catch_up {
        CatchUp::RunOnce => ("run_once", unused),
        CatchUp::RunAll { cap } => ("run_all", cap.get() as i16),
        CatchUp::Skip => ("skip", unused),
    }
}

pub(crate) fn catch_up_of(mode: &str, cap: i16) -> Result<CatchUp, String> {
    match mode {
        "run_once" => Ok(CatchUp::RunOnce),
        "skip" => Ok(CatchUp::Skip),
        "run_all" => u16::try_from(cap)
            .ok()
            .and_then(|c| CatchUpCap::new(c).ok())
            .map(|cap| CatchUp::RunAll { cap })
            .ok_or_else(|| format!("catch_up_cap {cap}")),
        other => Err(format!("catch_up {other:?}")),
    }
}

pub(crate) fn overlap_column(overlap: Overlap) -> &'static str {
    match overlap {
        Overlap::Allow => "allow",
        Overlap::Skip => "skip",
    }
}

pub(crate) fn overlap_of(value: &str) -> Result<Overlap, String> {
    match value {
        "allow" => Ok(Overlap::Allow),
        "skip" => Ok(Overlap::Skip),
        other => Err(format!("overlap {other:?}")),
    }
}

/// (max_attempts, base_delay_secs, max_delay_secs).
pub(crate) fn retry_columns(policy: RetryPolicy) -> (i16, i32, i32) {
    (i16::from(policy.max_attempts()), policy.base_delay().as_secs() as i32, policy.max_delay().as_secs() as i32)
}

pub(crate) fn retry_of(max_attempts: i16, base_delay_secs: i32, max_delay_secs: i32) -> Result<RetryPolicy, String> {
    let policy = (|| RetryPolicy::new(u8::try_from(max_attempts).ok()?, u32::try_from(base_delay_secs).ok()?, u32::try_from(max_delay_secs).ok()?).ok())();
    policy.ok_or_else(|| format!("retry policy of {max_attempts} attempts, {base_delay_secs} s base delay, {max_delay_secs} s maximum delay"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_round_trips_through_its_columns() {
        for catch_up in [CatchUp::RunOnce, CatchUp::Skip, CatchUp::RunAll { cap: CatchUpCap::new(7).unwrap() }] {
            let (mode, cap) = catch_up_columns(catch_up);
            assert_eq!(catch_up_of(mode, cap), Ok(catch_up));
        }
        for overlap in [Overlap::Allow, Overlap::Skip] {
            assert_eq!(overlap_of(overlap_column(overlap)), Ok(overlap));
        }
        let retry = RetryPolicy::new(4, 2, 20).unwrap();
        let (a, b, m) = retry_columns(retry);
        assert_eq!(retry_of(a, b, m), Ok(retry));
        for schedule in [Schedule::cron("30 2 * * *", "Europe/Oslo").unwrap(), Schedule::Once(chrono::Utc::now())] {
            let (kind, expr, tz, at) = schedule_columns(&schedule);
            assert_eq!(schedule_of(kind, expr.as_deref(), &tz, at), Ok(schedule));
        }
    }

    #[test]
    fn values_the_domain_refuses_are_errors_that_say_what() {
        assert_eq!(catch_up_of("run_all", 0), Err("catch_up_cap 0".to_owned()));
        assert_eq!(catch_up_of("sometimes", 10), Err("catch_up \"sometimes\"".to_owned()));
        assert_eq!(overlap_of("queue"), Err("overlap \"queue\"".to_owned()));
        assert_eq!(retry_of(3, 10, 100_000), Err("retry policy of 3 attempts, 10 s base delay, 100000 s maximum delay".to_owned()));
        assert_eq!(retry_of(0, 10, 60).map(|_| ()), Err("retry policy of 0 attempts, 10 s base delay, 60 s maximum delay".to_owned()));
        assert!(schedule_of("cron", Some("61 * * * *"), "UTC", None).unwrap_err().starts_with("schedule \"61 * * * *\" in \"UTC\": "));
        assert!(schedule_of("cron", Some("* * * * *"), "Mars/Olympus", None).is_err());
        assert!(schedule_of("once", None, "UTC", None).is_err());
    }
}
