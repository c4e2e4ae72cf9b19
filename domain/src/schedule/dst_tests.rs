//! Tests of the daylight-saving rule in Europe/Oslo, America/New_York and Australia/Lord_Howe.
//!
//! 2026 changes: Oslo 03-29 02:00 CET → 03:00 CEST (01:00 UTC) and 10-25 03:00 CEST → 02:00 CET
//! (01:00 UTC); New York 03-08 02:00 EST → 03:00 EDT (07:00 UTC) and 11-01 02:00 EDT → 01:00
//! EST (06:00 UTC); Lord Howe 04-05 02:00 +11 → 01:30 +10:30 (15:00 UTC the day before).
//! Expected runs are written as local time with the offset in force, so each one says which
//! pass of a repeated hour it is.

use chrono::{DateTime, Utc};

use super::*;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn local_runs(expr: &str, timezone: &str, start: &str, n: usize) -> Vec<String> {
    let zone = parse_timezone(timezone).unwrap();
    Schedule::cron(expr, timezone)
        .unwrap()
        .next_runs(utc(start), n)
        .iter()
        .map(|run| {
            run.with_timezone(&zone)
                .format("%m-%d %H:%M%:z")
                .to_string()
        })
        .collect()
}

#[test]
fn oslo_fixed_time_job_in_the_skipped_hour_runs_once_at_the_end_of_the_gap() {
    assert_eq!(
        local_runs("30 2 * * *", "Europe/Oslo", "2026-03-27T12:00:00Z", 3),
        [
            "03-28 02:30+01:00",
            "03-29 03:00+02:00",
            "03-30 02:30+02:00"
        ]
    );
    // Skipped times merge with each other and with 03:00 itself.
    assert_eq!(
        local_runs("0,30 2-4 * * *", "Europe/Oslo", "2026-03-28T23:00:00Z", 4),
        [
            "03-29 03:00+02:00",
            "03-29 03:30+02:00",
            "03-29 04:00+02:00",
            "03-29 04:30+02:00"
        ]
    );
}

#[test]
fn oslo_fixed_time_job_in_the_repeated_hour_runs_once_in_the_first_pass() {
    assert_eq!(
        local_runs("30 2 * * *", "Europe/Oslo", "2026-10-24T12:00:00Z", 2),
        ["10-25 02:30+02:00", "10-26 02:30+01:00"]
    );
    assert_eq!(
        local_runs("0,30 2 * * *", "Europe/Oslo", "2026-10-24T12:00:00Z", 3),
        [
            "10-25 02:00+02:00",
            "10-25 02:30+02:00",
            "10-26 02:00+01:00"
        ]
    );
    // Starting inside the first pass still finds the first-pass run.
    assert_eq!(
        local_runs("30 2 * * *", "Europe/Oslo", "2026-10-25T00:10:00Z", 1),
        ["10-25 02:30+02:00"]
    );
    // Starting inside the second pass: 02:30 already ran in the first pass.
    assert_eq!(
        local_runs("30 2 * * *", "Europe/Oslo", "2026-10-25T01:10:00Z", 1),
        ["10-26 02:30+01:00"]
    );
}

#[test]
fn oslo_wildcard_jobs_run_at_every_real_matching_instant() {
    assert_eq!(
        local_runs("*/15 * * * *", "Europe/Oslo", "2026-10-25T00:40:00Z", 6),
        [
            "10-25 02:45+02:00",
            "10-25 02:00+01:00",
            "10-25 02:15+01:00",
            "10-25 02:30+01:00",
            "10-25 02:45+01:00",
            "10-25 03:00+01:00",
        ]
    );
    assert_eq!(
        local_runs("*/15 * * * *", "Europe/Oslo", "2026-03-29T00:30:00Z", 3),
        [
            "03-29 01:45+01:00",
            "03-29 03:00+02:00",
            "03-29 03:15+02:00"
        ]
    );
    assert_eq!(
        local_runs("0 * * * *", "Europe/Oslo", "2026-10-24T23:30:00Z", 3),
        [
            "10-25 02:00+02:00",
            "10-25 02:00+01:00",
            "10-25 03:00+01:00"
        ]
    );
    assert_eq!(
        local_runs("0 * * * *", "Europe/Oslo", "2026-03-29T00:30:00Z", 2),
        ["03-29 03:00+02:00", "03-29 04:00+02:00"]
    );
    // Starting in the second pass of the repeated hour.
    assert_eq!(
        local_runs("*/15 * * * *", "Europe/Oslo", "2026-10-25T01:20:00Z", 2),
        ["10-25 02:30+01:00", "10-25 02:45+01:00"]
    );
}

#[test]
fn oslo_wildcard_job_with_a_fixed_hour_skips_the_missing_hour() {
    assert_eq!(
        local_runs("*/20 2 * * *", "Europe/Oslo", "2026-03-28T12:00:00Z", 4),
        [
            "03-30 02:00+02:00",
            "03-30 02:20+02:00",
            "03-30 02:40+02:00",
            "03-31 02:00+02:00"
        ]
    );
    assert_eq!(
        local_runs("*/20 2 * * *", "Europe/Oslo", "2026-10-24T12:00:00Z", 7),
        [
            "10-25 02:00+02:00",
            "10-25 02:20+02:00",
            "10-25 02:40+02:00",
            "10-25 02:00+01:00",
            "10-25 02:20+01:00",
            "10-25 02:40+01:00",
            "10-26 02:00+01:00",
        ]
    );
}

#[test]
fn new_york_fixed_time_jobs_across_both_changes() {
    assert_eq!(
        local_runs("30 2 * * *", "America/New_York", "2026-03-06T12:00:00Z", 3),
        [
            "03-07 02:30-05:00",
            "03-08 03:00-04:00",
            "03-09 02:30-04:00"
        ]
    );
    assert_eq!(
        local_runs("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2),
        ["11-01 01:30-04:00", "11-02 01:30-05:00"]
    );
    // 09:00 is untouched by the change, 23 real hours apart across spring-forward.
    let runs = Schedule::cron("0 9 * * *", "America/New_York")
        .unwrap()
        .next_runs(utc("2026-03-07T00:00:00Z"), 2);
    assert_eq!(
        runs,
        [utc("2026-03-07T14:00:00Z"), utc("2026-03-08T13:00:00Z")]
    );
}

#[test]
fn new_york_wildcard_jobs_across_both_changes() {
    assert_eq!(
        local_runs(
            "*/30 * * * *",
            "America/New_York",
            "2026-11-01T04:45:00Z",
            5
        ),
        [
            "11-01 01:00-04:00",
            "11-01 01:30-04:00",
            "11-01 01:00-05:00",
            "11-01 01:30-05:00",
            "11-01 02:00-05:00"
        ]
    );
    assert_eq!(
        local_runs("0 * * * *", "America/New_York", "2026-03-08T06:30:00Z", 2),
        ["03-08 03:00-04:00", "03-08 04:00-04:00"]
    );
    assert_eq!(
        local_runs("0 * * * *", "America/New_York", "2026-11-01T04:30:00Z", 3),
        [
            "11-01 01:00-04:00",
            "11-01 01:00-05:00",
            "11-01 02:00-05:00"
        ]
    );
}

#[test]
fn lord_howe_half_hour_shift() {
    // The clock goes back from 02:00 to 01:30, so 01:30-01:59 happens twice.
    assert_eq!(
        local_runs(
            "45 * * * *",
            "Australia/Lord_Howe",
            "2026-04-04T14:00:00Z",
            3
        ),
        [
            "04-05 01:45+11:00",
            "04-05 01:45+10:30",
            "04-05 02:45+10:30"
        ]
    );
    assert_eq!(
        local_runs(
            "45 1 * * *",
            "Australia/Lord_Howe",
            "2026-04-04T14:00:00Z",
            2
        ),
        ["04-05 01:45+11:00", "04-06 01:45+10:30"]
    );
}

#[test]
fn runs_in_utc_are_unaffected() {
    assert_eq!(
        local_runs("30 2 * * *", "UTC", "2026-03-28T12:00:00Z", 2),
        ["03-29 02:30+00:00", "03-30 02:30+00:00"]
    );
}

#[test]
fn next_after_is_cheap_enough_for_the_scheduler() {
    // The scheduler materialises up to ~2,000 runs a second; 20,000 calls must take well under
    // a second even in an unoptimised test build.
    let schedule = Schedule::cron("*/5 9-17 * * MON-FRI", "Europe/Oslo").unwrap();
    let mut after = utc("2026-01-01T00:00:00Z");
    let started = std::time::Instant::now();
    for _ in 0..20_000 {
        after = schedule.next_after(after).unwrap();
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
