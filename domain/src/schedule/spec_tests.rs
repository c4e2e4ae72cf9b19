//! Tests of the API-facing forms: serde shapes, presets, once, next_runs limits, to_spec.

use chrono::{DateTime, Utc, Weekday};
use serde_json::json;

use super::*;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn from_json(value: serde_json::Value) -> ScheduleSpec {
    serde_json::from_value(value).unwrap()
}

#[test]
fn cron_spec_defaults_to_utc() {
    let spec = from_json(json!({"kind": "cron", "expr": "*/5 * * * *"}));
    assert_eq!(
        spec,
        ScheduleSpec::Cron {
            expr: "*/5 * * * *".to_string(),
            timezone: None
        }
    );
    let schedule = spec.parse().unwrap();
    assert_eq!(schedule.kind(), "cron");
    assert_eq!(
        schedule.to_spec(),
        ScheduleSpec::Cron {
            expr: "*/5 * * * *".to_string(),
            timezone: Some("UTC".to_string())
        }
    );
    assert_eq!(
        serde_json::to_value(schedule.to_spec()).unwrap(),
        json!({"kind": "cron", "expr": "*/5 * * * *", "timezone": "UTC"})
    );
}

#[test]
fn cron_spec_with_zone_round_trips() {
    let spec = from_json(json!({"kind": "cron", "expr": "@daily", "timezone": "Europe/Oslo"}));
    let schedule = spec.parse().unwrap();
    let canonical = schedule.to_spec();
    assert_eq!(
        canonical,
        ScheduleSpec::Cron {
            expr: "0 0 * * *".to_string(),
            timezone: Some("Europe/Oslo".to_string())
        }
    );
    assert_eq!(canonical.parse().unwrap(), schedule);
    match schedule {
        Schedule::Cron(cron) => {
            assert_eq!(cron.expr(), "0 0 * * *");
            assert_eq!(cron.timezone(), chrono_tz::Europe::Oslo);
        }
        Schedule::Once(_) => panic!("expected cron"),
    }
}

#[test]
fn presets_become_cron_expressions() {
    let weekly = from_json(json!({
        "kind": "preset",
        "preset": {"interval": "weekly", "weekday": "Mon", "hour": 9, "minute": 30},
        "timezone": "Europe/Oslo"
    }));
    let schedule = weekly.parse().unwrap();
    assert_eq!(
        schedule.to_spec(),
        ScheduleSpec::Cron {
            expr: "30 9 * * MON".to_string(),
            timezone: Some("Europe/Oslo".to_string())
        }
    );
    assert_eq!(schedule.describe(), "every Monday at 09:30 (Europe/Oslo)");
    assert_eq!(schedule.interval_minutes(), Some(7 * 1440));

    let daily = from_json(json!({"kind": "preset", "preset": {"interval": "daily", "hour": 9}}));
    assert_eq!(
        daily.parse().unwrap().to_spec(),
        ScheduleSpec::Cron {
            expr: "0 9 * * *".to_string(),
            timezone: Some("UTC".to_string())
        }
    );
    let hourly = ScheduleSpec::Preset {
        preset: Preset::Hourly { minute: 15 },
        timezone: None,
    };
    let hourly = hourly.parse().unwrap();
    assert_eq!(hourly.interval_minutes(), Some(60));
    assert_eq!(hourly.describe(), "every hour at minute 15 (UTC)");
    let sunday = Preset::Weekly {
        weekday: Weekday::Sun,
        hour: 23,
        minute: 59,
    };
    assert_eq!(sunday.to_cron_expr().unwrap(), "59 23 * * SUN");
}

#[test]
fn presets_are_validated() {
    assert_eq!(
        Preset::Daily {
            hour: 24,
            minute: 0
        }
        .to_cron_expr()
        .unwrap_err(),
        ScheduleError::PresetOutOfRange {
            preset: "daily",
            part: "hour",
            value: 24,
            range: "0-23"
        }
    );
    let error = Preset::Hourly { minute: 60 }.to_cron_expr().unwrap_err();
    assert_eq!(
        error.to_string(),
        "hourly preset: minute 60 is out of range; minute takes 0-59"
    );
    let spec = ScheduleSpec::Preset {
        preset: Preset::Weekly {
            weekday: Weekday::Fri,
            hour: 9,
            minute: 0,
        },
        timezone: Some("Mars/Olympus".to_string()),
    };
    assert_eq!(
        spec.parse().unwrap_err(),
        ScheduleError::UnknownTimezone {
            name: "Mars/Olympus".to_string()
        }
    );
    let bad_weekday = serde_json::from_value::<ScheduleSpec>(json!({
        "kind": "preset", "preset": {"interval": "weekly", "weekday": "Funday", "hour": 9}
    }));
    assert!(bad_weekday.is_err());
}

#[test]
fn once_runs_only_if_still_ahead() {
    let spec = from_json(json!({"kind": "once", "at": "2026-12-01T10:00:00Z"}));
    let schedule = spec.parse().unwrap();
    assert_eq!(schedule.kind(), "once");
    let at = utc("2026-12-01T10:00:00Z");
    assert_eq!(schedule.next_after(utc("2026-11-30T00:00:00Z")), Some(at));
    assert_eq!(schedule.next_after(at), None);
    assert_eq!(schedule.next_after(utc("2027-01-01T00:00:00Z")), None);
    assert_eq!(schedule.next_runs(utc("2026-11-30T00:00:00Z"), 10), [at]);
    assert!(
        schedule
            .next_runs(utc("2027-01-01T00:00:00Z"), 10)
            .is_empty()
    );
    assert_eq!(schedule.interval_minutes(), None);
    assert_eq!(schedule.describe(), "once at 2026-12-01 10:00 UTC");
    assert_eq!(schedule.to_spec(), spec);
    assert_eq!(
        Schedule::Once(utc("2026-12-01T10:00:30Z")).describe(),
        "once at 2026-12-01 10:00:30 UTC"
    );
}

#[test]
fn next_runs_is_capped() {
    let schedule = Schedule::cron("* * * * *", "UTC").unwrap();
    let start = utc("2026-01-01T00:00:00Z");
    assert!(schedule.next_runs(start, 0).is_empty());
    let runs = schedule.next_runs(start, 5000);
    assert_eq!(runs.len(), MAX_NEXT_RUNS);
    assert_eq!(runs[0], utc("2026-01-01T00:01:00Z"));
    assert_eq!(runs[MAX_NEXT_RUNS - 1], utc("2026-01-01T16:40:00Z"));
    assert!(runs.windows(2).all(|pair| pair[0] < pair[1]));
}

#[test]
fn unknown_spec_kinds_are_refused_by_serde() {
    assert!(
        serde_json::from_value::<ScheduleSpec>(json!({"kind": "interval", "every": 5})).is_err()
    );
    assert!(serde_json::from_value::<ScheduleSpec>(json!({"kind": "cron"})).is_err());
}

#[test]
fn extreme_instants_do_not_panic() {
    let schedule = Schedule::cron("30 2 * * *", "Pacific/Kiritimati").unwrap();
    assert_eq!(schedule.next_after(DateTime::<Utc>::MAX_UTC), None);
    assert_eq!(schedule.next_after(utc("4999-12-31T23:59:00Z")), None);
    let utc_daily = Schedule::cron("30 2 * * *", "UTC").unwrap();
    assert_eq!(
        utc_daily.next_after(DateTime::<Utc>::MIN_UTC),
        Some(utc("1899-12-31T02:30:00Z"))
    );
    assert_eq!(
        utc_daily.next_after(utc("4998-12-31T12:00:00Z")),
        Some(utc("4999-01-01T02:30:00Z"))
    );
}
