//! A parsed cron expression bound to a time zone, and the daylight-saving rule that turns its
//! wall-clock matches into real instants.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

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

/// Distinct (expression, time zone) pairs kept parsed. Parsing is the expensive part of a
/// schedule: croner fills a bit per possible year (1 to 5000) for every expression, ≈ 50 µs,
/// and the API parses a schedule per job it creates or lists, the scheduler one per due job.
/// Real workloads use few distinct expressions. About 5 KB each; a full cache starts over.
const PARSED_CACHE_ENTRIES: usize = 512;

/// Parsed schedules by time zone and expression as written.
struct ParseCache {
    capacity: usize,
    entries: usize,
    by_zone: HashMap<Tz, HashMap<Box<str>, Arc<ParsedCron>>>,
}

impl ParseCache {
    fn new(capacity: usize) -> Self {
        ParseCache { capacity, entries: 0, by_zone: HashMap::new() }
    }

    fn get(&self, expr: &str, timezone: Tz) -> Option<Arc<ParsedCron>> {
        self.by_zone.get(&timezone)?.get(expr).cloned()
    }

    fn insert(&mut self, expr: &str, timezone: Tz, parsed: Arc<ParsedCron>) {
        if let Some(kept) = self.by_zone.get_mut(&timezone).and_then(|by_expr| by_expr.get_mut(expr)) {
            *kept = parsed;
            return;
        }
        if self.entries >= self.capacity {
            self.by_zone.clear();
            self.entries = 0;
        }
        self.by_zone.entry(timezone).or_default().insert(expr.into(), parsed);
        self.entries += 1;
    }
}

fn parse_cache() -> std::sync::MutexGuard<'static, ParseCache> {
    static CACHE: OnceLock<Mutex<ParseCache>> = OnceLock::new();
    CACHE
        .get_or_init(|| Mutex::new(ParseCache::new(PARSED_CACHE_ENTRIES)))
        .lock()
        // a panic cannot leave the map half-changed in a way that matters: entries are whole
        .unwrap_or_else(PoisonError::into_inner)
}

impl CronSchedule {
    /// The schedule of `expr` in `timezone`, parsed once per process (see
    /// [`PARSED_CACHE_ENTRIES`]); rejected expressions are not kept.
    pub(crate) fn new(expr: &str, timezone: Tz) -> Result<Self, ScheduleError> {
        if let Some(parsed) = parse_cache().get(expr, timezone) {
            return Ok(Self { parsed });
        }
        let schedule = Self::parse(expr, timezone)?;
        parse_cache().insert(expr, timezone, Arc::clone(&schedule.parsed));
        Ok(schedule)
    }

    fn parse(expr: &str, timezone: Tz) -> Result<Self, ScheduleError> {
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

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn a_schedule_is_parsed_once_and_shared() {
        let a = CronSchedule::new("*/7 3 * * MON", chrono_tz::Europe::Oslo).unwrap();
        let b = CronSchedule::new("*/7 3 * * MON", chrono_tz::Europe::Oslo).unwrap();
        assert!(Arc::ptr_eq(&a.parsed, &b.parsed));
        let elsewhere = CronSchedule::new("*/7 3 * * MON", chrono_tz::UTC).unwrap();
        assert!(!Arc::ptr_eq(&a.parsed, &elsewhere.parsed), "the zone is part of the key");
        assert_eq!(elsewhere.timezone(), chrono_tz::UTC);
        assert!(CronSchedule::new("61 * * * *", chrono_tz::UTC).is_err());
        assert!(CronSchedule::new("61 * * * *", chrono_tz::UTC).is_err(), "a rejected expression stays rejected");
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let mut cache = ParseCache::new(3);
        let parsed = |e: &str| CronSchedule::parse(e, chrono_tz::UTC).unwrap().parsed;
        for (i, expr) in ["1 * * * *", "2 * * * *", "3 * * * *"].into_iter().enumerate() {
            cache.insert(expr, chrono_tz::UTC, parsed(expr));
            assert_eq!(cache.entries, i + 1);
        }
        cache.insert("3 * * * *", chrono_tz::UTC, parsed("3 * * * *"));
        assert_eq!(cache.entries, 3, "replacing an entry adds none");
        cache.insert("4 * * * *", chrono_tz::UTC, parsed("4 * * * *"));
        assert_eq!(cache.entries, 1, "full: started over");
        assert!(cache.get("1 * * * *", chrono_tz::UTC).is_none());
        assert_eq!(cache.get("4 * * * *", chrono_tz::UTC).map(|p| p.fields.normalised.clone()), Some("4 * * * *".to_owned()));
    }
}
