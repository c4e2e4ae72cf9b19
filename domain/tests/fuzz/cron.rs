//! Cron parsing and schedule computation.
//!
//! Properties: parsing never panics; an accepted expression describes itself, has a positive
//! interval, normalises to a form that parses to the same schedule, and has a next run from any
//! instant before 4990; `next_runs` finishes within the case limit, returns runs that strictly
//! increase, all after `from`, each the `next_after` of the one before; a fixed-time job never
//! runs the same wall-clock time twice; each run of a generated expression matches it on the
//! zone's wall clock (or, for a fixed-time job, is the end of a daylight-saving gap); no
//! matching instant between `from` and the first run is skipped; and in zones without
//! daylight saving no two runs are closer than the computed interval.

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::{TZ_VARIANTS, Tz};
use domain::schedule::{DstRule, MAX_NEXT_RUNS, Schedule};
use proptest::prelude::*;

use super::common::{config, corpus, nasty_char, nasty_string, within};

// ---------------------------------------------------------------------------------------------
// Generators

/// Field values as sets, so a run can be checked against them without our parser.
#[derive(Clone, Debug)]
pub struct Fields {
    minutes: u64,
    hours: u32,
    dom: u32,
    months: u16,
    dow: u8,
    dom_star: bool,
    dow_star: bool,
}

impl Fields {
    fn matches(&self, wall: NaiveDateTime) -> bool {
        let bit = |mask: u64, v: u32| mask & (1u64 << v) != 0;
        if wall.second() != 0 || wall.nanosecond() != 0 || !bit(self.minutes, wall.minute()) || !bit(u64::from(self.hours), wall.hour()) || !bit(u64::from(self.months), wall.month()) {
            return false;
        }
        let dom = bit(u64::from(self.dom), wall.day());
        let dow = bit(u64::from(self.dow), wall.weekday().num_days_from_sunday());
        match (self.dom_star, self.dow_star) {
            (true, true) => true,
            (false, true) => dom,
            (true, false) => dow,
            (false, false) => dom || dow,
        }
    }
}

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One valid item of a field with bounds `lo..=hi` (`star_hi` for `*`): its text and its mask.
fn item(lo: u32, hi: u32, star_hi: u32, names: Option<(&'static [&'static str], u32)>) -> impl Strategy<Value = (String, u64)> {
    let span = star_hi - lo;
    let name = move |v: u32, upper: bool| -> String {
        match names {
            Some((list, first)) if v >= first && ((v - first) as usize) < list.len() => {
                let n = list[(v - first) as usize];
                if upper { n.to_owned() } else { n.to_ascii_lowercase() }
            }
            _ => v.to_string(),
        }
    };
    let range_mask = |a: u32, b: u32, step: u32| (a..=b).step_by(step as usize).fold(0u64, |m, v| m | (1 << v));
    prop_oneof![
        1 => Just(("*".to_owned(), range_mask(lo, star_hi, 1))),
        2 => (1..=span.max(1)).prop_map(move |s| (format!("*/{s}"), range_mask(lo, star_hi, s))),
        3 => (lo..=hi, any::<bool>(), any::<bool>()).prop_map(move |(v, named, upper)| {
            let text = if named { name(v, upper) } else { v.to_string() };
            (text, 1u64 << v)
        }),
        2 => (lo..=hi, lo..=hi, any::<bool>()).prop_map(move |(a, b, named)| {
            let (a, b) = (a.min(b), a.max(b));
            let text = if named { format!("{}-{}", name(a, true), name(b, true)) } else { format!("{a}-{b}") };
            // the documented rule: `SUN` ending a range is 7, so `SUN-SUN` is 0-7, every day (as in
            // croniter; cronie reads it as Sunday alone)
            let end = if named && text.ends_with("-SUN") { 7 } else { b };
            (text, range_mask(a, end, 1))
        }),
        2 => (lo..=hi, lo..=hi, 1..=span.max(1)).prop_map(move |(a, b, s)| {
            let (a, b) = (a.min(b), a.max(b));
            (format!("{a}-{b}/{s}"), range_mask(a, b, s))
        }),
        1 => (0..3u32).prop_map(move |z| {
            // leading zeros are accepted and mean the number
            (format!("{}{lo}", "0".repeat(z as usize)), 1u64 << lo)
        }),
    ]
}

fn field(lo: u32, hi: u32, star_hi: u32, names: Option<(&'static [&'static str], u32)>) -> impl Strategy<Value = (String, u64)> {
    prop::collection::vec(item(lo, hi, star_hi, names), 1..=3).prop_map(|items| {
        let text = items.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(",");
        let mask = items.iter().fold(0, |m, (_, v)| m | v);
        (text, mask)
    })
}

/// A valid five-field expression with its value sets (it may still be refused when its
/// day-of-month never occurs in its months; the property checks that case separately).
pub fn structured() -> impl Strategy<Value = (String, Fields)> {
    (
        field(0, 59, 59, None),
        field(0, 23, 23, None),
        prop_oneof![
            2 => Just(("*".to_owned(), 0xFFFF_FFFEu64)),
            4 => field(1, 31, 31, None),
            // the days some months lack
            1 => prop::sample::select(vec![("29", 1u64 << 29), ("30", 1 << 30), ("31", 1 << 31), ("30,31", 3 << 30), ("29-31", 7 << 29), ("31-31/1", 1 << 31)]).prop_map(|(t, m)| (t.to_owned(), m)),
        ],
        prop_oneof![
            4 => Just(("*".to_owned(), 0x1FFEu64)),
            2 => field(1, 12, 12, Some((&MONTHS, 1))),
            // the short months
            1 => prop::sample::select(vec![("2", 1u64 << 2), ("FEB", 1 << 2), ("4,6,9,11", (1 << 4) | (1 << 6) | (1 << 9) | (1 << 11)), ("2,4", (1 << 2) | (1 << 4)), ("apr-jun/2", (1 << 4) | (1 << 6)), ("9-11/2", (1 << 9) | (1 << 11))]).prop_map(|(t, m)| (t.to_owned(), m)),
        ],
        prop_oneof![2 => Just(("*".to_owned(), 0x7Fu64)), 1 => field(0, 7, 6, Some((&DAYS, 0)))],
        prop::sample::select(vec![" ", "  ", "\t", " \t "]),
    )
        .prop_map(|(m, h, dom, mon, dow, sep)| {
            let dow_mask = (dow.1 & 0x7F) | ((dow.1 >> 7) & 1);
            let fields = Fields {
                minutes: m.1,
                hours: h.1 as u32,
                dom: dom.1 as u32,
                months: mon.1 as u16,
                dow: dow_mask as u8,
                dom_star: dom.0 == "*",
                dow_star: dow.0 == "*",
            };
            ([m.0, h.0, dom.0, mon.0, dow.0].join(sep), fields)
        })
}

/// Near-valid text: fields assembled from fragments that are each valid, invalid, or a
/// borrowed extension (`L`, `W`, `#`, `?`, `H`), joined by odd separators, in odd numbers.
pub fn near_valid() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        prop::sample::select(vec![
            "*", "*/0", "*/1", "*/59", "*/60", "*/61", "*/", "/5", "*/-1", "*/+1", "0", "00", "007", "59", "60", "23", "24", "31",
            "32", "12", "13", "7", "8", "-1", "1-", "-", "--", "1--2", "1-2-3", "5-1", "0-59", "0-60", "1-31/2", "5/15", "L", "LW",
            "L-3", "5L", "15W", "W", "5#3", "MON#1", "#", "?", "H", "H/5", "H(0-29)", "+5", "JAN", "jan", "Jan", "DEC", "JAN-DEC",
            "DEC-JAN", "MON", "MONDAY", "mon-fri", "FRI-SUN", "SUN-SAT", "SAT-SUN", "FRI-MON", "0-7", "7-7", "SUN", "sun",
            "99999", "99999999999999999999", "4294967296", "18446744073709551616", "1e3", "0x1f", "1.5", " ", "", ",", ",,",
            "1,", ",1", "1,,2", "*,*", "*-5", "5-*", "*/5/5", "1/2/3", "@daily", "\u{ff15}", "\u{663}", "٣", "５-１０",
        ]).prop_map(str::to_owned),
        (0u64..100_000).prop_map(|n| n.to_string()),
        (0u32..70, 0u32..70, 0u32..70).prop_map(|(a, b, s)| format!("{a}-{b}/{s}")),
        nasty_char().prop_map(String::from),
    ];
    let field = prop::collection::vec(fragment, 1..=3).prop_map(|parts| parts.concat());
    let separator = prop_oneof![
        6 => Just(" ".to_owned()),
        1 => Just("\t".to_owned()),
        1 => Just("   ".to_owned()),
        1 => Just("\n".to_owned()),
        1 => Just("\u{a0}".to_owned()),
        1 => Just("\u{2003}".to_owned()),
        1 => Just(",".to_owned()),
    ];
    prop_oneof![
        8 => (prop::collection::vec((field, separator), 0..=8), nasty_string(2), nasty_string(2)).prop_map(|(fields, pre, post)| {
            let mut out = pre;
            for (f, s) in fields {
                out.push_str(&f);
                out.push_str(&s);
            }
            out.push_str(&post);
            out
        }),
        2 => (prop::sample::select(vec!["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "@reboot", "@", "@every 5m", "@HOURLY", "@Daily", "@daily *", "@ daily"]), nasty_string(3), any::<bool>())
            .prop_map(|(s, junk, before)| if before { format!("{junk}{s}") } else { format!("{s}{junk}") }),
        1 => ("[0-9*/,-]{0,300}").prop_map(|s| s),
    ]
}

/// Any expression text: structured, near-valid or arbitrary.
pub fn any_expression() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => structured().prop_map(|(e, _)| e),
        5 => near_valid(),
        1 => any::<String>(),
        1 => nasty_string(40),
    ]
}

/// Zone names: every IANA zone chrono-tz knows, plus near misses and garbage.
pub fn zone_name() -> impl Strategy<Value = String> {
    let real = prop::sample::select(TZ_VARIANTS.to_vec()).prop_map(|tz| tz.name().to_owned());
    prop_oneof![
        6 => real.clone(),
        1 => real.clone().prop_map(|n| n.to_ascii_lowercase()),
        1 => real.prop_map(|n| format!(" {n}")),
        1 => prop::sample::select(vec!["", " ", "UTC", "utc", "Z", "GMT", "Etc/GMT+14", "Etc/GMT-15", "Europe/Osl", "Europe//Oslo", "../etc/passwd", "\0", "Europe/Oslo\n", "EST5EDT", "+01:00"]).prop_map(str::to_owned),
        1 => nasty_string(30),
    ]
}

/// Zones whose rules have daylight saving or odd histories, for schedule computation.
fn dst_zone() -> impl Strategy<Value = Tz> {
    prop_oneof![
        3 => prop::sample::select(vec![
            chrono_tz::Europe::Oslo, chrono_tz::Europe::London, chrono_tz::America::New_York, chrono_tz::America::Santiago,
            chrono_tz::America::Havana, chrono_tz::America::St_Johns, chrono_tz::Australia::Lord_Howe, chrono_tz::Australia::Sydney,
            chrono_tz::Pacific::Apia, chrono_tz::Pacific::Chatham, chrono_tz::Pacific::Kwajalein, chrono_tz::Antarctica::Troll,
            chrono_tz::Asia::Tehran, chrono_tz::Africa::Casablanca, chrono_tz::America::Sao_Paulo, chrono_tz::Europe::Dublin,
            chrono_tz::America::Juneau, chrono_tz::Asia::Manila, chrono_tz::UTC, chrono_tz::Asia::Kolkata,
        ]),
        2 => prop::sample::select(TZ_VARIANTS.to_vec()),
    ]
}

/// Instants spread over the supported years, clustered where clocks change (spring and autumn
/// nights, both hemispheres), with odd seconds, and at the edges (1900, 4999, 5000).
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let at = |y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32| Utc.with_ymd_and_hms(y, mo, d.min(28), h, mi, s).single();
    prop_oneof![
        4 => (1970i32..2045, prop::sample::select(vec![3u32, 4, 9, 10, 11]), 1u32..=28, 0u32..24, 0u32..60, prop::sample::select(vec![0u32, 0, 0, 1, 30, 59]))
            .prop_filter_map("valid date", move |(y, mo, d, h, mi, s)| at(y, mo, d, h, mi, s)),
        2 => (1890i32..5010, 1u32..=12, 1u32..=28, 0u32..24, 0u32..60, 0u32..60).prop_filter_map("valid date", move |(y, mo, d, h, mi, s)| at(y, mo, d, h, mi, s)),
        1 => prop::sample::select(vec![
            Utc.with_ymd_and_hms(1899, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2011, 12, 29, 9, 59, 0).unwrap(), // Samoa skips 30 December
            Utc.with_ymd_and_hms(2026, 3, 29, 0, 59, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap(),
            Utc.with_ymd_and_hms(4999, 12, 31, 23, 59, 0).unwrap(),
            Utc.with_ymd_and_hms(5000, 1, 1, 0, 0, 0).unwrap(),
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
        ]),
    ]
    .prop_flat_map(|t| (Just(t), -3600i64..3600).prop_map(|(t, jitter)| t.checked_add_signed(Duration::seconds(jitter)).unwrap_or(t)))
}

/// The first instant after `t` (within 400 days, to the second) where `tz` changes its offset.
pub fn next_transition(tz: Tz, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let offset = |t: DateTime<Utc>| tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    let start = offset(t);
    let mut day = t;
    for _ in 0..400 {
        let next = day.checked_add_signed(Duration::days(1))?;
        if offset(next) != start {
            // bisect to the second
            let (mut lo, mut hi) = (day.timestamp(), next.timestamp());
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset(DateTime::from_timestamp(mid, 0)?) == start { lo = mid } else { hi = mid }
            }
            return DateTime::from_timestamp(hi, 0);
        }
        day = next;
    }
    None
}

/// A zone and an instant shortly before one of its offset changes (or anywhere, when it has none
/// in the year after the drawn instant).
fn zone_and_instant() -> impl Strategy<Value = (Tz, DateTime<Utc>)> {
    prop_oneof![
        1 => (dst_zone(), instant()),
        2 => (dst_zone(), 1900i32..2040, 1u32..=12, prop_oneof![0i64..180, 0i64..3 * 24 * 60]).prop_map(|(tz, year, month, before)| {
            let t = Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).unwrap();
            let from = next_transition(tz, t).map_or(t, |x| x - Duration::minutes(before));
            (tz, from)
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Properties

/// Parsing never panics; what is accepted describes itself, has an interval and a next run, and
/// its normal form parses to the same schedule.
fn check_parse(expr: &str, zone: &str) -> Result<(), TestCaseError> {
    let (expr, zone) = (expr.to_owned(), zone.to_owned());
    let result = within("parse", {
        let (expr, zone) = (expr.clone(), zone.clone());
        move || Schedule::cron(&expr, &zone)
    })?;
    let Ok(schedule) = result else {
        let message = result.unwrap_err().to_string();
        prop_assert!(!message.is_empty());
        return Ok(());
    };
    let Schedule::Cron(cron) = &schedule else { return Err(TestCaseError::fail("cron parsed into once")) };
    let described = schedule.describe();
    prop_assert!(described.ends_with(&format!("({})", cron.timezone().name())), "{described}");
    let interval = schedule.interval_minutes();
    prop_assert!(matches!(interval, Some(m) if m >= 1), "{interval:?}");
    let normal = cron.expr().to_owned();
    prop_assert!(normal.split(' ').count() == 5 && normal.is_ascii(), "{normal:?}");
    let again = Schedule::cron(&normal, cron.timezone().name());
    prop_assert_eq!(again.as_ref().ok(), Some(&schedule), "normal form {:?} of {:?}", normal, expr);
    if let Ok(Schedule::Cron(c)) = &again {
        prop_assert_eq!(c.expr(), normal.as_str());
    }
    let from = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let next = within("next_after", {
        let s = schedule.clone();
        move || s.next_after(from)
    })?;
    prop_assert!(next.is_some_and(|n| n > from), "{expr:?} in {zone} accepted but has no next run after {from}");
    Ok(())
}

/// `next_runs` from `from`: bounded time, strictly increasing, after `from`, consistent with
/// `next_after`, and (fixed-time) never the same wall-clock time twice.
fn check_runs(schedule: &Schedule, from: DateTime<Utc>, n: usize) -> Result<Vec<DateTime<Utc>>, TestCaseError> {
    let runs = within("next_runs", {
        let s = schedule.clone();
        move || s.next_runs(from, n)
    })?;
    prop_assert!(runs.len() <= n.min(MAX_NEXT_RUNS));
    let mut previous = from;
    for run in &runs {
        prop_assert!(*run > previous, "{run} does not follow {previous} (from {from}): {runs:?}");
        previous = *run;
    }
    if let Some(first) = runs.first() {
        prop_assert_eq!(schedule.next_after(from), Some(*first));
    }
    if runs.len() < n.min(MAX_NEXT_RUNS) && matches!(schedule, Schedule::Cron(_)) {
        // fewer runs than asked only at the end of the supported years
        let last = runs.last().copied().unwrap_or(from);
        prop_assert!(last.year() >= 4990 || from.year() >= 4990, "only {} runs from {from}, last {last}", runs.len());
    }
    if let Schedule::Cron(cron) = schedule
        && cron.dst_rule() == DstRule::FixedTime
    {
        let tz = cron.timezone();
        let mut walls: Vec<NaiveDateTime> = runs.iter().map(|r| r.with_timezone(&tz).naive_local()).collect();
        walls.sort();
        let before = walls.len();
        walls.dedup();
        prop_assert_eq!(walls.len(), before, "a fixed-time job ran one wall-clock time twice: {:?}", runs);
    }
    Ok(runs)
}

/// The runs of a generated expression match its value sets on the wall clock, none is skipped
/// between `from` and the first run, and without daylight saving no gap is below the interval.
fn check_against_fields(schedule: &Schedule, fields: &Fields, from: DateTime<Utc>, runs: &[DateTime<Utc>]) -> Result<(), TestCaseError> {
    let Schedule::Cron(cron) = schedule else { return Ok(()) };
    let tz = cron.timezone();
    let rule = cron.dst_rule();
    let offset_at = |t: DateTime<Utc>| tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    for run in runs {
        let wall = run.with_timezone(&tz).naive_local();
        if fields.matches(wall) {
            if rule == DstRule::FixedTime {
                // the first instant showing this wall-clock time
                let first = tz.from_local_datetime(&wall).earliest().map(|t| t.with_timezone(&Utc));
                prop_assert_eq!(first, Some(*run), "fixed-time run {} at {} is not the first pass", run, wall);
            }
        } else {
            prop_assert!(rule == DstRule::FixedTime, "wildcard run {run} shows {wall}, which does not match");
            let before = *run - Duration::seconds(1);
            prop_assert!(offset_at(before) != offset_at(*run), "run {run} shows {wall}, which does not match, and is not the end of a gap");
        }
    }
    // nothing skipped: every matching instant up to the last run (or two days) is a run
    let ran: std::collections::BTreeSet<DateTime<Utc>> = runs.iter().copied().collect();
    let Some(last) = runs.last().copied() else { return Ok(()) };
    let until = last.min(from + Duration::days(2));
    if from.year() >= 1900 {
        let mut t = from.with_second(0).unwrap().with_nanosecond(0).unwrap();
        while t <= until {
            // the whole local minute in this UTC minute (old offsets have seconds, e.g. +11:15:20)
            let shown = t.with_timezone(&tz).naive_local();
            let m = t - Duration::seconds(i64::from(shown.second()));
            let wall = m.with_timezone(&tz).naive_local();
            if m > from && m <= until && fields.matches(wall) {
                let counts = match rule {
                    DstRule::Wildcard => true,
                    DstRule::FixedTime => tz.from_local_datetime(&wall).earliest().map(|e| e.with_timezone(&Utc)) == Some(m),
                };
                prop_assert!(!counts || ran.contains(&m), "{m} ({wall}) matches but did not run; runs after {from}: {runs:?}");
            }
            // a fixed-time job set for a time that clocks skip runs at the end of the gap
            if rule == DstRule::FixedTime
                && offset_at(m - Duration::minutes(1)).local_minus_utc() < offset_at(m).local_minus_utc()
                && let Some(gap_end) = next_transition(tz, m - Duration::minutes(1))
                && gap_end > from
                && gap_end <= until
            {
                let before = offset_at(gap_end - Duration::seconds(1));
                let skipped_from = gap_end.naive_utc() + Duration::seconds(i64::from(before.local_minus_utc()));
                let skipped_to = gap_end.with_timezone(&tz).naive_local();
                let mut w = skipped_from.with_second(0).unwrap();
                while w < skipped_to {
                    prop_assert!(!(w >= skipped_from && fields.matches(w)) || ran.contains(&gap_end), "{w} is skipped by the change at {gap_end} and matches, but the job did not run then; runs after {from}: {runs:?}");
                    w += Duration::minutes(1);
                }
            }
            t += Duration::minutes(1);
        }
    }
    // away from offset changes, gaps are never shorter than the interval: checked for each pair
    // of runs on the same offset whose first run is not the end of a gap (a fixed-time job that
    // clocks jumped over runs late, so its next run can come sooner, as documented)
    if let Some(interval) = schedule.interval_minutes() {
        for pair in runs.windows(2) {
            let same_offset = offset_at(pair[0]) == offset_at(pair[1]);
            let after_gap = offset_at(pair[0] - Duration::seconds(1)) != offset_at(pair[0]);
            if same_offset && !after_gap {
                let gap = (pair[1] - pair[0]).num_minutes();
                prop_assert!(gap >= i64::from(interval), "runs {} and {} are {gap} min apart, interval says {interval}", pair[0], pair[1]);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config("cron_parse", 2.0))]

    #[test]
    fn cron_parsing_never_panics_and_accepted_expressions_run(expr in any_expression(), zone in zone_name()) {
        check_parse(&expr, &zone)?;
    }
}

proptest! {
    #![proptest_config(config("cron_structured", 1.0))]

    /// Expressions built from valid items are accepted exactly when some day can run.
    #[test]
    fn generated_expressions_are_accepted_and_run_on_their_values((expr, fields) in structured(), (tz, from) in zone_and_instant(), n in 1usize..40) {
        let parsed = Schedule::cron(&expr, tz.name());
        let never_runs = !fields.dom_star && fields.dow_star && !(1..=12u32).filter(|m| fields.months & (1 << m) != 0).any(|m| {
            let longest = match m { 2 => 29, 4 | 6 | 9 | 11 => 30, _ => 31 };
            (1..=longest).any(|d| fields.dom & (1 << d) != 0)
        });
        let Ok(schedule) = parsed else {
            prop_assert!(never_runs, "{expr:?} refused: {}", parsed.unwrap_err());
            return Ok(());
        };
        prop_assert!(!never_runs, "{expr:?} accepted but never runs");
        let runs = check_runs(&schedule, from, n)?;
        check_against_fields(&schedule, &fields, from, &runs)?;
    }
}

proptest! {
    #![proptest_config(config("schedule_runs", 1.0))]

    #[test]
    fn next_runs_terminate_and_strictly_increase(expr in any_expression(), (tz, from) in zone_and_instant(), n in prop_oneof![8 => 0usize..50, 1 => Just(MAX_NEXT_RUNS), 1 => Just(usize::MAX)]) {
        if let Ok(schedule) = Schedule::cron(&expr, tz.name()) {
            // a thousand runs cost a thousand searches: keep the big asks to cheap schedules
            let n = if n > 50 && schedule.interval_minutes().is_some_and(|m| m < 60) { n } else { n.min(50) };
            check_runs(&schedule, from, n)?;
        }
    }

    #[test]
    fn once_schedules_have_one_run_after_from(at in instant(), from in instant(), n in 0usize..5) {
        let schedule = Schedule::Once(at);
        let runs = check_runs(&schedule, from, n)?;
        prop_assert_eq!(runs, if at > from && n > 0 { vec![at] } else { vec![] });
        prop_assert!(!schedule.describe().is_empty());
    }
}

/// The seed corpus: each line is `expr` or `expr ⇥ zone` (a tab between), run through the parse
/// and run properties every time.
#[test]
fn cron_corpus() {
    let from = [Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0).unwrap(), Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap(), Utc.with_ymd_and_hms(2011, 12, 29, 9, 0, 0).unwrap(), Utc.with_ymd_and_hms(4999, 12, 31, 0, 0, 0).unwrap()];
    for line in corpus("cron.txt") {
        let (expr, zones) = match line.split_once(" ⇥ ") {
            Some((e, z)) => (e.to_owned(), vec![z.to_owned()]),
            None => (line.clone(), vec!["UTC".to_owned(), "Europe/Oslo".to_owned(), "Australia/Lord_Howe".to_owned(), "Pacific/Apia".to_owned()]),
        };
        for zone in &zones {
            check_parse(&expr, zone).unwrap_or_else(|e| panic!("{expr:?} in {zone}: {e}"));
            if let Ok(schedule) = Schedule::cron(&expr, zone) {
                for t in from {
                    check_runs(&schedule, t, 60).unwrap_or_else(|e| panic!("{expr:?} in {zone} from {t}: {e}"));
                }
            }
        }
    }
}
