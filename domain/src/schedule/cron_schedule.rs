//! A parsed cron expression bound to a time zone, and the daylight-saving rule that turns its
//! wall-clock matches into real instants.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Datelike, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::cron_syntax::{CronFields, parse_cron};
use super::error::ScheduleError;
use super::{describe, interval};

/// How a cron schedule meets a daylight-saving change; chosen from the expression as Vixie cron
/// does (see the module docs of [`crate::schedule`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DstRule {
    /// Minute and hour fields both name values (e.g. `30 2 * * *`, `0 9-17 * * *`): each
    /// matching wall-clock time runs exactly once. A time repeated when clocks go back runs at
    /// its first occurrence; a time skipped when clocks go forward runs at the first instant
    /// after the gap (several skipped times merge into that one run).
    FixedTime,
    /// The minute or the hour field begins with `*` (e.g. `*/15 * * * *`, `0 * * * *`): the
    /// job runs at every real instant whose local wall-clock time matches, so it runs in both
    /// passes of a repeated hour and not at all for skipped times.
    Wildcard,
}

/// Wall-clock matches examined per call before giving up. Only matches that lie in a repeated
/// or skipped stretch of wall-clock time are passed over, so this bound is never reached by a
/// real time zone; it keeps a call's cost bounded whatever happens.
const MAX_PASSED_OVER_MATCHES: usize = 10_000;

/// Runs are looked for up to the end of the year before this one (croner stops at 5000).
const LAST_SUPPORTED_YEAR: i32 = 5000;

/// Longest run of skipped wall-clock time searched for its end (the longest in the tz database
/// is a whole day, Samoa 2011).
const MAX_GAP_MINUTES: i64 = 48 * 60;

/// A five-field cron expression evaluated in an IANA time zone. Parsed once; clones share the
/// parsed form.
#[derive(Clone)]
pub struct CronSchedule {
    parsed: Arc<ParsedCron>,
}

impl std::fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CronSchedule")
            .field("expr", &self.expr())
            .field("timezone", &self.parsed.timezone.name())
            .finish()
    }
}

struct ParsedCron {
    fields: CronFields,
    timezone: Tz,
    matcher: Cron,
    interval: OnceLock<u32>,
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.parsed.fields == other.parsed.fields && self.parsed.timezone == other.parsed.timezone
    }
}

impl CronSchedule {
    pub(crate) fn new(expr: &str, timezone: Tz) -> Result<Self, ScheduleError> {
        let fields = parse_cron(expr)?;
        let matcher = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(&fields.croner_pattern)
            .map_err(|error| ScheduleError::EngineRejected {
                detail: error.to_string(),
            })?;
        Ok(Self {
            parsed: Arc::new(ParsedCron {
                fields,
                timezone,
                matcher,
                interval: OnceLock::new(),
            }),
        })
    }

    /// The normalised expression: five fields, single spaces, shorthands expanded, names in
    /// upper case. Parsing it again gives the same schedule.
    pub fn expr(&self) -> &str {
        &self.parsed.fields.normalised
    }

    pub fn timezone(&self) -> Tz {
        self.parsed.timezone
    }

    /// Which daylight-saving rule applies to this expression.
    pub fn dst_rule(&self) -> DstRule {
        if self.parsed.fields.wildcard_time {
            DstRule::Wildcard
        } else {
            DstRule::FixedTime
        }
    }

    /// The first run strictly after `after`. Runs are produced from 1900 up to the end of
    /// 4999: an earlier `after` gives the first run of 1900, a later one `None`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let earliest = DateTime::<Utc>::from_naive_utc_and_offset(
            chrono::NaiveDate::from_ymd_opt(1899, 12, 31)?.and_hms_opt(0, 0, 0)?,
            Utc,
        );
        if after.year() >= LAST_SUPPORTED_YEAR {
            return None;
        }
        let after = after.max(earliest);
        match self.dst_rule() {
            DstRule::Wildcard => self.next_matching_instant(after),
            DstRule::FixedTime => self.next_wall_clock_run(after),
        }
    }

    /// Shortest gap between consecutive runs on the wall clock; see [`crate::schedule`].
    pub fn interval_minutes(&self) -> u32 {
        *self
            .parsed
            .interval
            .get_or_init(|| interval::shortest_gap_minutes(&self.parsed.fields))
    }

    /// Plain-language description ending in the time zone, e.g. "every day at 09:00 (Europe/Oslo)".
    pub fn describe(&self) -> String {
        format!(
            "{} ({})",
            describe::describe_fields(&self.parsed.fields),
            self.parsed.timezone.name()
        )
    }

    /// `Wildcard` rule: croner walks the wall clock of the zone and yields every real instant
    /// whose local time matches, both passes of a repeated hour included, skipped times never.
    fn next_matching_instant(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut from = after.with_timezone(&self.parsed.timezone);
        for _ in 0..MAX_PASSED_OVER_MATCHES {
            let next = self
                .parsed
                .matcher
                .find_next_occurrence(&from, false)
                .ok()?;
            let next_utc = next.with_timezone(&Utc);
            if next_utc > after {
                return Some(next_utc);
            }
            from = next;
        }
        None
    }

    /// `FixedTime` rule: croner finds the next matching wall-clock time on a calendar without
    /// daylight saving, and [`first_instant_at`] places it on the real time line. That placement
    /// never goes backwards as wall-clock time advances, so the first placed match later than
    /// `after` is the answer; matches placed at or before it (the first pass of a repeated hour
    /// when `after` is in the second, or skipped times already run at the end of their gap) are
    /// passed over.
    fn next_wall_clock_run(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut from: NaiveDateTime = after.with_timezone(&self.parsed.timezone).naive_local();
        for _ in 0..MAX_PASSED_OVER_MATCHES {
            let wall = self
                .parsed
                .matcher
                .find_next_occurrence(&from, false)
                .ok()?;
            let instant = first_instant_at(&self.parsed.timezone, wall)?;
            if instant > after {
                return Some(instant);
            }
            from = wall;
        }
        None
    }
}

/// The real instant at which a fixed-time job set for wall-clock time `wall` runs: the only
/// instant showing `wall`, the earlier of two when clocks went back, or the first instant after
/// the gap when clocks went forward over `wall`.
pub(crate) fn first_instant_at(timezone: &Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    earliest(timezone.from_local_datetime(&wall)).or_else(|| end_of_gap(timezone, wall))
}

fn earliest(resolved: LocalResult<DateTime<Tz>>) -> Option<DateTime<Utc>> {
    match resolved {
        LocalResult::Single(instant) => Some(instant.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, second) => Some(first.min(second).with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// The first instant after the skipped stretch of wall-clock time that contains `wall`: walk the
/// wall clock a minute at a time to the first time that exists, then back second by second in
/// case the gap ends between whole minutes (only in some pre-1980 zone histories).
fn end_of_gap(timezone: &Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    for minutes in 1..=MAX_GAP_MINUTES {
        let probe = wall.checked_add_signed(TimeDelta::minutes(minutes))?;
        if let Some(mut first) = earliest(timezone.from_local_datetime(&probe)) {
            for seconds in 1..60 {
                let earlier = probe.checked_sub_signed(TimeDelta::seconds(seconds))?;
                match earliest(timezone.from_local_datetime(&earlier)) {
                    Some(instant) => first = instant,
                    None => break,
                }
            }
            return Some(first);
        }
    }
    None
}
