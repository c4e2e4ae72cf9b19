//! Tests of calendar matching (month ends, leap days, weekdays, the day-of-month/day-of-week
//! rule), of interval_minutes and of the plain-language descriptions.

use chrono::{DateTime, Utc};

use super::*;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn runs(expr: &str, start: &str, n: usize) -> Vec<String> {
    Schedule::cron(expr, "UTC")
        .unwrap()
        .next_runs(utc(start), n)
        .iter()
        .map(|run| run.format("%Y-%m-%d %H:%M %a").to_string())
        .collect()
}

fn interval(expr: &str) -> u32 {
    Schedule::cron(expr, "Europe/Oslo")
        .unwrap()
        .interval_minutes()
        .unwrap()
}

fn describe(expr: &str, timezone: &str) -> String {
    Schedule::cron(expr, timezone).unwrap().describe()
}

#[test]
fn the_31st_skips_short_months() {
    assert_eq!(
        runs("0 0 31 * *", "2026-01-15T00:00:00Z", 7),
        [
            "2026-01-31 00:00 Sat",
            "2026-03-31 00:00 Tue",
            "2026-05-31 00:00 Sun",
            "2026-07-31 00:00 Fri",
            "2026-08-31 00:00 Mon",
            "2026-10-31 00:00 Sat",
            "2026-12-31 00:00 Thu",
        ]
    );
}

#[test]
fn the_30th_and_29th_skip_february_unless_it_has_the_day() {
    assert_eq!(
        runs("0 0 30 * *", "2026-01-15T00:00:00Z", 3),
        [
            "2026-01-30 00:00 Fri",
            "2026-03-30 00:00 Mon",
            "2026-04-30 00:00 Thu"
        ]
    );
    assert_eq!(
        runs("0 0 29 * *", "2027-01-15T00:00:00Z", 2),
        ["2027-01-29 00:00 Fri", "2027-03-29 00:00 Mon"]
    );
    assert_eq!(
        runs("0 0 29 * *", "2028-01-15T00:00:00Z", 3),
        [
            "2028-01-29 00:00 Sat",
            "2028-02-29 00:00 Tue",
            "2028-03-29 00:00 Wed"
        ]
    );
}

#[test]
fn the_leap_day_comes_every_four_years_but_not_in_2100() {
    assert_eq!(
        runs("0 12 29 2 *", "2026-01-01T00:00:00Z", 2),
        ["2028-02-29 12:00 Tue", "2032-02-29 12:00 Sun"]
    );
    assert_eq!(
        runs("0 12 29 2 *", "2096-03-01T00:00:00Z", 1),
        ["2104-02-29 12:00 Fri"]
    );
}

#[test]
fn weekday_names_numbers_and_sunday_as_7_agree() {
    // 2026-06-10 is a Wednesday.
    assert_eq!(
        runs("0 9 * * MON", "2026-06-10T12:00:00Z", 2),
        ["2026-06-15 09:00 Mon", "2026-06-22 09:00 Mon"]
    );
    let sunday = runs("0 9 * * 0", "2026-06-10T12:00:00Z", 3);
    assert_eq!(
        sunday,
        [
            "2026-06-14 09:00 Sun",
            "2026-06-21 09:00 Sun",
            "2026-06-28 09:00 Sun"
        ]
    );
    assert_eq!(runs("0 9 * * 7", "2026-06-10T12:00:00Z", 3), sunday);
    assert_eq!(runs("0 9 * * sun", "2026-06-10T12:00:00Z", 3), sunday);
    assert_eq!(
        runs("0 9 * * mon-FRI", "2026-06-12T12:00:00Z", 3),
        [
            "2026-06-15 09:00 Mon",
            "2026-06-16 09:00 Tue",
            "2026-06-17 09:00 Wed"
        ]
    );
    assert_eq!(
        runs("0 9 * * 5-7", "2026-06-10T12:00:00Z", 4),
        [
            "2026-06-12 09:00 Fri",
            "2026-06-13 09:00 Sat",
            "2026-06-14 09:00 Sun",
            "2026-06-19 09:00 Fri"
        ]
    );
    assert_eq!(
        runs("0 9 * * fri-sun", "2026-06-10T12:00:00Z", 4),
        runs("0 9 * * 5-7", "2026-06-10T12:00:00Z", 4)
    );
    assert_eq!(
        runs("0 0 1 jul,JAN *", "2026-02-01T00:00:00Z", 2),
        ["2026-07-01 00:00 Wed", "2027-01-01 00:00 Fri"]
    );
}

#[test]
fn day_of_month_and_day_of_week_are_ored_when_both_restricted() {
    // 2026-01-13 is a Tuesday: it runs as the 13th; the Fridays run as Fridays.
    assert_eq!(
        runs("0 0 13 * FRI", "2026-01-01T00:00:00Z", 4),
        [
            "2026-01-02 00:00 Fri",
            "2026-01-09 00:00 Fri",
            "2026-01-13 00:00 Tue",
            "2026-01-16 00:00 Fri"
        ]
    );
    // Only a bare `*` leaves a day field out: `1-31` restricts, so every day runs.
    assert_eq!(
        runs("0 0 1-31 * MON", "2026-01-01T00:00:00Z", 3),
        [
            "2026-01-02 00:00 Fri",
            "2026-01-03 00:00 Sat",
            "2026-01-04 00:00 Sun"
        ]
    );
    assert_eq!(
        runs("0 0 1 * *", "2026-01-01T00:00:00Z", 2),
        ["2026-02-01 00:00 Sun", "2026-03-01 00:00 Sun"]
    );
    assert_eq!(
        runs("0 0 * * 1", "2026-01-01T00:00:00Z", 2),
        ["2026-01-05 00:00 Mon", "2026-01-12 00:00 Mon"]
    );
}

#[test]
fn steps_and_lists_expand_from_the_start_of_their_range() {
    assert_eq!(
        runs("10-40/15,59 8 * * *", "2026-01-01T00:00:00Z", 4),
        [
            "2026-01-01 08:10 Thu",
            "2026-01-01 08:25 Thu",
            "2026-01-01 08:40 Thu",
            "2026-01-01 08:59 Thu"
        ]
    );
    assert_eq!(
        runs("0 0 */10 * *", "2026-01-01T00:00:00Z", 4),
        [
            "2026-01-11 00:00 Sun",
            "2026-01-21 00:00 Wed",
            "2026-01-31 00:00 Sat",
            "2026-02-01 00:00 Sun"
        ]
    );
}

#[test]
fn runs_are_strictly_after_the_start() {
    assert_eq!(
        runs("0 9 * * *", "2026-06-10T09:00:00Z", 1),
        ["2026-06-11 09:00 Thu"]
    );
    assert_eq!(
        runs("0 9 * * *", "2026-06-10T08:59:59.999Z", 1),
        ["2026-06-10 09:00 Wed"]
    );
    assert_eq!(
        runs("0 9 * * *", "2026-06-10T09:00:00.001Z", 1),
        ["2026-06-11 09:00 Thu"]
    );
}

#[test]
fn interval_minutes_is_the_shortest_wall_clock_gap() {
    assert_eq!(interval("*/5 * * * *"), 5);
    assert_eq!(interval("* * * * *"), 1);
    assert_eq!(interval("*/7 * * * *"), 4);
    assert_eq!(interval("0,30 * * * *"), 30);
    assert_eq!(interval("@hourly"), 60);
    assert_eq!(interval("0 */2 * * *"), 120);
    assert_eq!(interval("0 9,17 * * *"), 480);
    assert_eq!(interval("0 9 * * 1-5"), 1440);
    assert_eq!(interval("0 9 * * MON"), 7 * 1440);
    assert_eq!(interval("0 0 * * 1,5"), 3 * 1440);
    assert_eq!(interval("30 23 * * 6,0"), 1440);
    assert_eq!(interval("0 0 1 * *"), 28 * 1440);
    assert_eq!(interval("0 0 1,15 * *"), 14 * 1440);
    assert_eq!(interval("0 0 31 * *"), 31 * 1440);
    assert_eq!(interval("0 0 1 1 *"), 365 * 1440);
    assert_eq!(interval("0 12 29 2 *"), 1461 * 1440);
    assert_eq!(interval("0 0 13 * FRI"), 1440);
    // From 23:59 to 00:00 the next day.
    assert_eq!(interval("0,59 0,23 * * *"), 1);
    assert_eq!(interval("59 0,23 * * *"), 60);
}

#[test]
fn interval_minutes_never_exceeds_an_observed_gap() {
    for expr in [
        "*/7 * * * *",
        "5,50 */3 * * *",
        "0 9 * * 1-5",
        "0 0 1,15 * *",
        "45 23 * * 0,1",
        "0 0 28-31 * *",
    ] {
        let schedule = Schedule::cron(expr, "UTC").unwrap();
        let stated = schedule.interval_minutes().unwrap();
        let runs = schedule.next_runs(utc("2026-01-01T00:00:00Z"), MAX_NEXT_RUNS);
        let observed = runs
            .windows(2)
            .map(|pair| (pair[1] - pair[0]).num_minutes())
            .min()
            .unwrap();
        assert_eq!(i64::from(stated), observed, "{expr}");
    }
}

#[test]
fn descriptions_read_naturally() {
    assert_eq!(
        describe("0 9 * * *", "Europe/Oslo"),
        "every day at 09:00 (Europe/Oslo)"
    );
    assert_eq!(describe("*/5 * * * *", "UTC"), "every 5 minutes (UTC)");
    assert_eq!(
        describe("0 9 * * 1-5", "UTC"),
        "at 09:00 on Monday through Friday (UTC)"
    );
    assert_eq!(
        describe("0 9 * * MON", "UTC"),
        "every Monday at 09:00 (UTC)"
    );
    assert_eq!(describe("* * * * *", "UTC"), "every minute (UTC)");
    assert_eq!(describe("0 * * * *", "UTC"), "every hour (UTC)");
    assert_eq!(
        describe("15 * * * *", "UTC"),
        "every hour at minute 15 (UTC)"
    );
    assert_eq!(describe("0,30 * * * *", "UTC"), "every 30 minutes (UTC)");
    assert_eq!(
        describe("0 0 1 * *", "UTC"),
        "at 00:00 on the 1st of the month (UTC)"
    );
    assert_eq!(
        describe("0 12 29 2 *", "UTC"),
        "at 12:00 on the 29th of February (UTC)"
    );
    assert_eq!(
        describe("0 9,17 * * *", "UTC"),
        "every day at 09:00 and 17:00 (UTC)"
    );
    assert_eq!(
        describe("0 0 * * SAT,SUN", "UTC"),
        "at 00:00 on Saturday and Sunday (UTC)"
    );
    assert_eq!(
        describe("0 0 * * 5-7", "UTC"),
        "at 00:00 on Friday through Sunday (UTC)"
    );
    assert_eq!(
        describe("0 8 * 1-3 *", "UTC"),
        "every day at 08:00 in January through March (UTC)"
    );
    assert_eq!(
        describe("0 0 13 * FRI", "UTC"),
        "at 00:00 on the 13th of the month and on every Friday (UTC)"
    );
    assert_eq!(
        describe("0 0 1,15 * *", "UTC"),
        "at 00:00 on the 1st and 15th of the month (UTC)"
    );
    assert_eq!(
        describe("0 0 1-7 * *", "UTC"),
        "at 00:00 on the 1st through 7th of the month (UTC)"
    );
}

#[test]
fn descriptions_of_uneven_shapes_list_their_values() {
    assert_eq!(
        describe("*/7 * * * *", "UTC"),
        "every hour at minutes 0, 7, 14, 21, 28, 35, 42, 49 and 56 (UTC)"
    );
    assert_eq!(
        describe("*/5 9-17 * * 1-5", "UTC"),
        "every 5 minutes from 09:00 through 17:59 on Monday through Friday (UTC)"
    );
    assert_eq!(
        describe("0 */2 * * *", "UTC"),
        "every 2 hours from 00:00 through 22:00 (UTC)"
    );
    assert_eq!(
        describe("30 1-23/2 * * *", "UTC"),
        "every 2 hours from 01:30 through 23:30 (UTC)"
    );
    assert_eq!(
        describe("0 9-17 * * *", "UTC"),
        "every hour from 09:00 through 17:00 (UTC)"
    );
    assert_eq!(
        describe("*/15 1,3,5 * * *", "UTC"),
        "every 15 minutes during 01:00–01:59, 03:00–03:59 and 05:00–05:59 (UTC)"
    );
    assert_eq!(
        describe("0-10,30 9-17 * * *", "UTC"),
        "at minutes 0-10 and 30 of each hour from 09:00 through 17:59 (UTC)"
    );
    assert_eq!(
        describe("0 0 1 * MON", "Europe/Oslo"),
        "at 00:00 on the 1st of the month and on every Monday (Europe/Oslo)"
    );
}
