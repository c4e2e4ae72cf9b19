//! Prints the next runs of several hundred deterministically generated cron expressions as JSON
//! lines, for `scripts/cron-crosscheck/compare.py` to check against Python's croniter.
//!
//! Each line: `{"expr", "tz", "start", "runs": [10 UTC instants]}`. The expressions mix
//! values, lists, ranges, steps, names and shorthands; the zones include several with daylight
//! saving (one with a 30-minute shift) and some without; the start instants cluster around the
//! zone's clock changes and month ends. Seeded, so every run prints the same lines.
//!
//! Run: `cargo run -q -p domain --example cron_dump [COUNT]` (default 640).

use chrono::{DateTime, Duration, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use domain::schedule::{Schedule, parse_timezone};

const DEFAULT_COUNT: usize = 640;
const RUNS_PER_EXPRESSION: usize = 10;
const SEED: u64 = 0x5052_494b_4b45; // "PRIKKE"

const ZONES: [&str; 12] = [
    "UTC",
    "Europe/Oslo",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Europe/London",
    "America/Los_Angeles",
    "America/St_Johns",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/Sao_Paulo",
];

/// Expressions that must be in every dump: the daylight-saving shapes the module docs promise.
const PINNED: [&str; 16] = [
    "30 2 * * *",
    "0 2 * * *",
    "*/15 * * * *",
    "0 * * * *",
    "0 2-4 * * *",
    "0,30 1-3 * * *",
    "*/10 2 * * *",
    "0 */2 * * *",
    "30 1 * * *",
    "45 * * * *",
    "0 0 29 2 *",
    "0 0 31 * *",
    "0 9 * * MON-FRI",
    "0 0 13 * FRI",
    "@weekly",
    "@hourly",
];

/// SplitMix64: small, fast and good enough to vary test inputs.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `from..=to`.
    fn between(&mut self, from: i64, to: i64) -> i64 {
        from + (self.next() % (to - from + 1) as u64) as i64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }
}

fn main() {
    let count = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_COUNT);
    let mut generator = Generator(SEED);
    let transitions: Vec<(Tz, Vec<DateTime<Utc>>)> = ZONES
        .iter()
        .map(|name| {
            let zone = parse_timezone(name).expect("zone list holds IANA names");
            (zone, clock_changes(zone))
        })
        .collect();
    let mut printed = 0;
    while printed < count {
        let expr = if printed < PINNED.len() * 3 {
            PINNED[printed % PINNED.len()].to_string()
        } else {
            expression(&mut generator)
        };
        let (zone, changes) = if printed < PINNED.len() * 3 {
            // The pinned shapes in Oslo, New York and Lord Howe.
            &transitions[[1, 2, 4][printed / PINNED.len()]]
        } else {
            generator.pick(&transitions)
        };
        let Ok(schedule) = Schedule::cron(&expr, zone.name()) else {
            continue; // e.g. a day-of-month no chosen month has
        };
        let interval = schedule.interval_minutes().unwrap_or(1440);
        let start = start_instant(&mut generator, changes, interval);
        let runs: Vec<String> = schedule
            .next_runs(start, RUNS_PER_EXPRESSION)
            .iter()
            .map(rfc3339)
            .collect();
        let line = serde_json::json!({
            "expr": expr,
            "tz": zone.name(),
            "start": rfc3339(&start),
            "runs": runs,
        });
        println!("{line}");
        printed += 1;
    }
}

fn rfc3339(instant: &DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Instants in 2026-2027 at which the zone's UTC offset changes, found to the quarter hour
/// (every change in these zones happens on a quarter hour UTC).
fn clock_changes(zone: Tz) -> Vec<DateTime<Utc>> {
    let offset_at = |t: DateTime<Utc>| zone.offset_from_utc_datetime(&t.naive_utc()).fix();
    let mut changes = Vec::new();
    let mut t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap();
    let mut offset = offset_at(t);
    while t < end {
        let next = t + Duration::minutes(15);
        let next_offset = offset_at(next);
        if next_offset != offset {
            changes.push(next);
            offset = next_offset;
        }
        t = next;
    }
    changes
}

/// A start instant: near a clock change (within reach of the expression's next runs), near a
/// month end, on a whole minute, or anywhere in 2025-2030.
fn start_instant(
    generator: &mut Generator,
    changes: &[DateTime<Utc>],
    interval: u32,
) -> DateTime<Utc> {
    let reach = i64::from(interval).clamp(1, 1440) * (RUNS_PER_EXPRESSION as i64 - 2);
    let seconds = if generator.chance(30) {
        generator.between(0, 59)
    } else {
        0
    };
    let choice = generator.between(0, 99);
    let base = if choice < 50 && !changes.is_empty() {
        let change = *generator.pick(changes);
        // Mostly before the change so the runs cross it; sometimes just after it (inside a
        // repeated hour).
        if generator.chance(75) {
            change - Duration::minutes(generator.between(0, reach))
        } else {
            change + Duration::minutes(generator.between(0, 90))
        }
    } else if choice < 70 {
        let year = generator.between(2025, 2030) as i32;
        let month = generator.between(1, 12) as u32;
        let first_of_next = if month == 12 {
            Utc.with_ymd_and_hms(year + 1, 1, 1, 0, 0, 0)
        } else {
            Utc.with_ymd_and_hms(year, month + 1, 1, 0, 0, 0)
        };
        first_of_next.unwrap() - Duration::minutes(generator.between(0, 36 * 60))
    } else {
        let minute = generator.between(0, 6 * 366 * 24 * 60);
        Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(minute)
    };
    base + Duration::seconds(seconds)
}

fn expression(generator: &mut Generator) -> String {
    if generator.chance(4) {
        let shorthand = *generator.pick(&[
            "@hourly",
            "@daily",
            "@midnight",
            "@weekly",
            "@monthly",
            "@yearly",
            "@annually",
        ]);
        return shorthand.to_string();
    }
    let minute = field(generator, 0, 59, &[10, 15, 30, 20, 8, 10, 7], None);
    let hour = field(
        generator,
        0,
        23,
        &[25, 10, 30, 15, 10, 5, 5],
        Some(&[0, 1, 2, 3, 4]),
    );
    let dom = field(
        generator,
        1,
        31,
        &[65, 5, 12, 6, 7, 3, 2],
        Some(&[1, 15, 28, 29, 30, 31]),
    );
    let month = field(
        generator,
        1,
        12,
        &[70, 5, 10, 8, 7, 0, 0],
        Some(&[2, 3, 10, 11]),
    );
    let month = names(generator, month, &MONTHS);
    let dow = field(generator, 0, 7, &[65, 4, 12, 8, 8, 3, 0], None);
    let dow = names(generator, dow, &WEEKDAYS);
    format!("{minute} {hour} {dom} {month} {dow}")
}

const MONTHS: [&str; 13] = [
    "", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 8] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];

/// One field. `weights` are percentages for: `*`, `*/n`, value, list, range, range with step,
/// list mixing a range or step with values. `favoured` values are drawn half the time (the hours
/// clocks change at, the days months end on).
fn field(
    generator: &mut Generator,
    min: i64,
    max: i64,
    weights: &[u64; 7],
    favoured: Option<&[i64]>,
) -> String {
    let star_max = if max == 7 { 6 } else { max };
    let value = |g: &mut Generator| match favoured {
        Some(values) if g.chance(50) => *g.pick(values),
        _ => g.between(min, max),
    };
    let mut roll = generator.between(0, weights.iter().sum::<u64>() as i64 - 1) as u64;
    let mut shape = 0;
    while roll >= weights[shape] {
        roll -= weights[shape];
        shape += 1;
    }
    let range = |g: &mut Generator| {
        let from = g.between(min, max - 1);
        let to = g.between(from + 1, max);
        (from, to)
    };
    match shape {
        0 => "*".to_string(),
        1 => format!("*/{}", generator.between(1, star_max - min)),
        2 => value(generator).to_string(),
        3 => {
            let n = generator.between(2, 4);
            (0..n)
                .map(|_| value(generator).to_string())
                .collect::<Vec<_>>()
                .join(",")
        }
        4 => {
            let (from, to) = range(generator);
            format!("{from}-{to}")
        }
        5 => {
            let (from, to) = range(generator);
            format!("{from}-{to}/{}", generator.between(1, star_max - min))
        }
        _ => {
            let (from, to) = range(generator);
            let step = generator.between(2, (star_max - min).max(2));
            format!("{},{from}-{to}/{step}", value(generator))
        }
    }
}

/// Spells some plain numbers of a month or weekday field as names, in random case.
fn names(generator: &mut Generator, field: String, table: &[&str]) -> String {
    if field.contains('*') || !generator.chance(40) {
        return field;
    }
    let spell = |g: &mut Generator, number: &str| -> String {
        let Ok(n) = number.parse::<usize>() else {
            return number.to_string();
        };
        let name = table[n];
        match g.between(0, 2) {
            0 => name.to_string(),
            1 => name.to_ascii_lowercase(),
            _ => format!("{}{}", &name[..1], name[1..].to_ascii_lowercase()),
        }
    };
    field
        .split(',')
        .map(|item| {
            let (base, step) = match item.split_once('/') {
                Some((base, step)) => (base, Some(step)),
                None => (item, None),
            };
            let base = match base.split_once('-') {
                Some((from, to)) => format!("{}-{}", spell(generator, from), spell(generator, to)),
                None => spell(generator, base),
            };
            match step {
                Some(step) => format!("{base}/{step}"),
                None => base,
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}
