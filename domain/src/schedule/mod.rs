//! When a job runs: cron expressions in an IANA time zone, one-time instants and UI presets,
//! with the next runs, the shortest interval and a plain-language description of each.
//!
//! # Forms
//!
//! A [`ScheduleSpec`] is what the API receives; [`ScheduleSpec::parse`] validates it into a
//! [`Schedule`], which is either a [`CronSchedule`] or a single UTC instant (`once`). A
//! [`Preset`] (hourly, daily, weekly) becomes a cron expression and is stored as one
//! ([`Schedule::to_spec`] returns that canonical form).
//!
//! # Cron syntax
//!
//! Exactly five fields separated by spaces: `minute hour day-of-month month day-of-week`.
//!
//! | field        | values                                          |
//! |--------------|-------------------------------------------------|
//! | minute       | 0-59                                            |
//! | hour         | 0-23                                            |
//! | day-of-month | 1-31                                            |
//! | month        | 1-12 or `JAN`-`DEC`                             |
//! | day-of-week  | 0-7 (0 and 7 are Sunday) or `SUN`-`SAT`         |
//!
//! Each field is a comma-separated list of items; an item is `*` (every value), a value, a
//! range `a-b` (inclusive, `a` ≤ `b`), or a step `*/n` or `a-b/n` (every `n`th value from the
//! start of the range; `n` from 1 up to the field's span, e.g. 59 for minutes, 6 for
//! day-of-week, where `*` means 0-6). Names are three letters, in any case; `SUN` ending a
//! range means 7, so `FRI-SUN` is Friday, Saturday and Sunday.
//! Shorthands, alone: `@hourly` (`0 * * * *`), `@daily` and `@midnight` (`0 0 * * *`),
//! `@weekly` (`0 0 * * 0`), `@monthly` (`0 0 1 * *`), `@yearly` and `@annually` (`0 0 1 1 *`).
//!
//! Refused, each with a message naming the field and the item: seconds or year fields (6 or 7
//! fields), croner's and Quartz's extensions `L`, `W`, `#`, `?` and the `+` prefix, Jenkins'
//! `H`, a step after a single value (`5/15`; write `5-59/15`), ranges that wrap around
//! (`FRI-MON`), full names (`MONDAY`), and a day-of-month that none of the selected months has
//! (`0 0 30 2 *` would never run). The extensions are left out on purpose: they are not part
//! of crontab(5), so an accepted expression means the same here, in crontab and in croniter.
//!
//! **Day-of-month and day-of-week** follow POSIX: if both fields are restricted (neither is a
//! bare `*`), a day runs when *either* matches; if one is `*`, only the other restricts. So
//! `0 0 13 * FRI` runs on every 13th and on every Friday.
//!
//! # Time zones and daylight saving
//!
//! Expressions are evaluated on the wall clock of an IANA zone (default `UTC`; names are
//! case-sensitive, an unknown name is an error). Which rule a daylight-saving change applies is
//! taken from the expression exactly as Vixie cron does ([`DstRule`]):
//!
//! * **Fixed-time jobs** — the minute and hour fields both name values (`30 2 * * *`,
//!   `0 9-17 * * 1-5`, `0,30 2 * * *`): every matching wall-clock time runs exactly once.
//!   When clocks go back, a repeated time runs at its first occurrence only: `30 2 * * *` in
//!   Europe/Oslo on 2026-10-25 runs at 02:30 CEST (00:30 UTC), not again at 02:30 CET. When
//!   clocks go forward over a time, it runs at the first instant after the gap: the same job on
//!   2026-03-29 runs at 03:00 CEST (01:00 UTC). Several skipped times merge into that one run
//!   (`0 2-4 * * *` runs at 03:00 and 04:00 on that day).
//! * **Wildcard jobs** — the minute or the hour field begins with `*` (`*/15 * * * *`,
//!   `0 * * * *`, `*/10 2 * * *`, `@hourly`): the job runs at every real instant whose
//!   wall-clock time matches. In a repeated hour it runs in both passes (`0 * * * *` keeps
//!   running once per real hour; `*/15 * * * *` runs 02:00-02:45 CEST, then 02:00-02:45 CET,
//!   every 15 real minutes); skipped times do not run (`*/15 * * * *` runs at 01:45 CET, then
//!   03:00 CEST, 15 real minutes later; `*/10 2 * * *` does not run that day).
//!
//! # Next runs
//!
//! [`Schedule::next_after`] returns the first run strictly after its argument;
//! [`Schedule::next_runs`] the next `n` runs strictly after `now`, with `n` capped at
//! [`MAX_NEXT_RUNS`]. Neither reads the clock. A `once` schedule has one run, its instant, and
//! only while that lies after the argument. Cron runs are produced from 1900 to the end of 4999.
//!
//! # Interval
//!
//! [`Schedule::interval_minutes`] is the shortest gap between two consecutive runs *as read on
//! the schedule's wall clock*, computed exactly from the expression over a full 400-year cycle
//! of the calendar (so never from today's date): `*/5 * * * *` → 5, `*/7 * * * *` → 4
//! (:56 to :00), `0,30 * * * *` → 30, `0 9 * * 1-5` → 1440, `0 0 1 * *` → 40320 (February),
//! `0 12 29 2 *` → 2103840 (four years). It is `None` for `once`. It ignores daylight saving:
//! on the day clocks change, one real gap can be shorter by the size of the shift (a daily
//! 09:00 job in Europe/Oslo is 23 real hours apart across spring-forward; an hourly job in
//! Australia/Lord_Howe, whose clocks move by 30 minutes, has one 30-minute gap a year).
//!
//! # Description
//!
//! [`Schedule::describe`] gives English text such as "every day at 09:00 (Europe/Oslo)",
//! "every 5 minutes (UTC)", "at 09:00 on Monday through Friday (UTC)" or
//! "once at 2026-12-01 10:00 UTC", built from the parsed values; shapes without a short phrase
//! are described by listing their values, never approximately.
//!
//! # Cross-check against croniter
//!
//! `scripts/cron-crosscheck/run.sh` compares the runs of several hundred generated expressions
//! with Python's croniter. Where croniter's own daylight-saving handling differs from the rule
//! above, the difference is intended and listed there: croniter runs a fixed-time job in both
//! passes of a repeated hour, and moves times skipped by spring-forward to the end of the gap
//! whenever the hour field is not `*` (so `*/10 2 * * *` and `0 */2 * * *` run at 03:00 CEST
//! there but are skipped here, as in Vixie cron), and treats an hour list covering all 24 hours
//! (`0-23`) like `*`, while here only a field beginning with `*` makes a wildcard job.

mod cron_schedule;
mod cron_syntax;
mod describe;
mod error;
mod interval;

#[cfg(test)]
mod calendar_tests;
#[cfg(test)]
mod dst_tests;
#[cfg(test)]
mod spec_tests;
#[cfg(test)]
mod syntax_tests;

use chrono::{DateTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use cron_schedule::{CronSchedule, DstRule};
pub use cron_syntax::MAX_EXPRESSION_LENGTH;
pub use error::{CronField, ScheduleError};

/// Most runs [`Schedule::next_runs`] returns in one call.
pub const MAX_NEXT_RUNS: usize = 1000;

/// A schedule as the REST API receives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScheduleSpec {
    /// A five-field cron expression or shorthand, in `timezone` (UTC when absent).
    Cron {
        expr: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timezone: Option<String>,
    },
    /// A single run at an instant.
    Once { at: DateTime<Utc> },
    /// An hourly, daily or weekly preset, in `timezone` (UTC when absent).
    Preset {
        preset: Preset,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timezone: Option<String>,
    },
}

/// The simple intervals the UI offers; each becomes a cron expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "interval", rename_all = "snake_case", deny_unknown_fields)]
pub enum Preset {
    /// Every hour at `minute` past.
    Hourly {
        #[serde(default)]
        minute: u8,
    },
    /// Every day at `hour`:`minute`.
    Daily {
        hour: u8,
        #[serde(default)]
        minute: u8,
    },
    /// Every week on `weekday` at `hour`:`minute` (`weekday` as "Mon" or "Monday").
    Weekly {
        weekday: Weekday,
        hour: u8,
        #[serde(default)]
        minute: u8,
    },
}

impl Preset {
    /// The cron expression this preset stands for, e.g. `30 9 * * MON`.
    pub fn to_cron_expr(&self) -> Result<String, ScheduleError> {
        let (name, minute, hour) = match *self {
            Preset::Hourly { minute } => ("hourly", minute, None),
            Preset::Daily { hour, minute } => ("daily", minute, Some(hour)),
            Preset::Weekly { hour, minute, .. } => ("weekly", minute, Some(hour)),
        };
        if minute > 59 {
            return Err(ScheduleError::PresetOutOfRange {
                preset: name,
                part: "minute",
                value: u32::from(minute),
                range: "0-59",
            });
        }
        if let Some(hour) = hour.filter(|h| *h > 23) {
            return Err(ScheduleError::PresetOutOfRange {
                preset: name,
                part: "hour",
                value: u32::from(hour),
                range: "0-23",
            });
        }
        Ok(match *self {
            Preset::Hourly { minute } => format!("{minute} * * * *"),
            Preset::Daily { hour, minute } => format!("{minute} {hour} * * *"),
            Preset::Weekly {
                weekday,
                hour,
                minute,
            } => {
                format!(
                    "{minute} {hour} * * {}",
                    weekday.to_string().to_ascii_uppercase()
                )
            }
        })
    }
}

impl ScheduleSpec {
    /// Validates the spec into a schedule.
    pub fn parse(&self) -> Result<Schedule, ScheduleError> {
        match self {
            ScheduleSpec::Cron { expr, timezone } => {
                Schedule::cron(expr, timezone.as_deref().unwrap_or("UTC"))
            }
            ScheduleSpec::Once { at } => Ok(Schedule::Once(*at)),
            ScheduleSpec::Preset { preset, timezone } => Schedule::cron(
                &preset.to_cron_expr()?,
                timezone.as_deref().unwrap_or("UTC"),
            ),
        }
    }
}

/// A validated schedule.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    Cron(CronSchedule),
    Once(DateTime<Utc>),
}

impl Schedule {
    /// Parses a cron expression evaluated in the IANA zone `timezone`.
    pub fn cron(expr: &str, timezone: &str) -> Result<Self, ScheduleError> {
        Ok(Schedule::Cron(CronSchedule::new(
            expr,
            parse_timezone(timezone)?,
        )?))
    }

    /// "cron" or "once", as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Schedule::Cron(_) => "cron",
            Schedule::Once(_) => "once",
        }
    }

    /// The first run strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Cron(cron) => cron.next_after(after),
            Schedule::Once(at) => (*at > after).then_some(*at),
        }
    }

    /// The next `n` runs strictly after `now` (at most [`MAX_NEXT_RUNS`]), earliest first.
    pub fn next_runs(&self, now: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut runs = Vec::with_capacity(n.min(MAX_NEXT_RUNS));
        let mut after = now;
        while runs.len() < n.min(MAX_NEXT_RUNS) {
            match self.next_after(after) {
                Some(next) => {
                    runs.push(next);
                    after = next;
                }
                None => break,
            }
        }
        runs
    }

    /// Shortest gap in minutes between consecutive runs on the wall clock; `None` for `once`.
    pub fn interval_minutes(&self) -> Option<u32> {
        match self {
            Schedule::Cron(cron) => Some(cron.interval_minutes()),
            Schedule::Once(_) => None,
        }
    }

    /// Plain-language description, e.g. "every day at 09:00 (Europe/Oslo)".
    pub fn describe(&self) -> String {
        match self {
            Schedule::Cron(cron) => cron.describe(),
            Schedule::Once(at) if at.second() == 0 && at.nanosecond() == 0 => {
                format!("once at {} UTC", at.format("%Y-%m-%d %H:%M"))
            }
            Schedule::Once(at) => format!("once at {} UTC", at.format("%Y-%m-%d %H:%M:%S")),
        }
    }

    /// The canonical spec, as stored and echoed: a normalised cron expression with its zone
    /// named, or the instant.
    pub fn to_spec(&self) -> ScheduleSpec {
        match self {
            Schedule::Cron(cron) => ScheduleSpec::Cron {
                expr: cron.expr().to_string(),
                timezone: Some(cron.timezone().name().to_string()),
            },
            Schedule::Once(at) => ScheduleSpec::Once { at: *at },
        }
    }
}

/// Looks up an IANA time zone by its exact name.
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    if name.trim().is_empty() {
        return Err(ScheduleError::EmptyTimezone);
    }
    name.parse::<Tz>()
        .map_err(|_| ScheduleError::UnknownTimezone {
            name: name.to_string(),
        })
}
