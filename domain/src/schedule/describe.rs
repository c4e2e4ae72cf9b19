//! Plain-language English descriptions of cron expressions ("at 09:00 on Monday through Friday").
//!
//! Every phrase is built from the parsed value sets, never from the text, and each shape either
//! has a phrase that is exactly true or falls back to listing the values.

use super::cron_syntax::CronFields;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// Weekday names indexed by cron number (0 = Sunday).
const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
/// Weekdays in the order a week is read aloud: Monday first, Sunday last.
const WEEK_ORDER: [u32; 7] = [1, 2, 3, 4, 5, 6, 0];

/// At most this many times of day are listed one by one ("at 09:00, 12:00 and 17:00").
const MAX_LISTED_TIMES: usize = 6;

/// Describes the expression, without the time zone.
pub(crate) fn describe_fields(fields: &CronFields) -> String {
    let minutes = set_values(fields.minutes, 0, 59);
    let hours = set_values(u64::from(fields.hours), 0, 23);
    let days = day_phrase(fields);
    if hours.len() < 24 && hours.len() * minutes.len() <= MAX_LISTED_TIMES {
        let times: Vec<String> = hours
            .iter()
            .flat_map(|h| minutes.iter().map(move |m| clock(*h, *m)))
            .collect();
        let times = join_and(&times);
        return match days {
            DayPhrase::EveryDay => format!("every day at {times}"),
            DayPhrase::OneWeekday(weekday) => format!("every {weekday} at {times}"),
            DayPhrase::EveryDayIn(months) => format!("every day at {times} in {months}"),
            DayPhrase::On(text) => format!("at {times} {text}"),
        };
    }
    let within_day = within_day_phrase(&minutes, &hours);
    match days {
        DayPhrase::EveryDay => within_day,
        DayPhrase::OneWeekday(weekday) => format!("{within_day} on {weekday}"),
        DayPhrase::EveryDayIn(months) => format!("{within_day} in {months}"),
        DayPhrase::On(text) => format!("{within_day} {text}"),
    }
}

/// Runs that happen several times a day and are not listed time by time.
fn within_day_phrase(minutes: &[u32], hours: &[u32]) -> String {
    let minute_step = step_from_zero(minutes, 60);
    if hours.len() == 24 {
        return match (minutes, minute_step) {
            (_, Some(1)) => "every minute".to_string(),
            (_, Some(step)) => format!("every {step} minutes"),
            ([0], _) => "every hour".to_string(),
            ([minute], _) => format!("every hour at minute {minute}"),
            _ => format!("every hour at minutes {}", number_list(minutes)),
        };
    }
    if let ([minute], Some(step)) = (minutes, arithmetic_step(hours)) {
        let every = if step == 1 {
            "every hour".to_string()
        } else {
            format!("every {step} hours")
        };
        let (first, last) = (hours[0], hours[hours.len() - 1]);
        return format!(
            "{every} from {} through {}",
            clock(first, *minute),
            clock(last, *minute)
        );
    }
    let minute_part = match (minutes, minute_step) {
        (_, Some(1)) => "every minute".to_string(),
        (_, Some(step)) => format!("every {step} minutes"),
        ([minute], _) => format!("at minute {minute} of each hour"),
        _ => format!("at minutes {} of each hour", number_list(minutes)),
    };
    let windows: Vec<(u32, u32)> = runs(hours);
    match windows.as_slice() {
        [(first, last)] => format!(
            "{minute_part} from {} through {}",
            clock(*first, 0),
            clock(*last, 59)
        ),
        _ => {
            let listed: Vec<String> = windows
                .iter()
                .map(|(first, last)| format!("{}–{}", clock(*first, 0), clock(*last, 59)))
                .collect();
            format!("{minute_part} during {}", join_and(&listed))
        }
    }
}

enum DayPhrase {
    /// No restriction on days or months.
    EveryDay,
    /// Only the day-of-week field restricts, to one weekday.
    OneWeekday(&'static str),
    /// Only the month field restricts.
    EveryDayIn(String),
    /// Anything else, as a phrase starting with "on".
    On(String),
}

fn day_phrase(fields: &CronFields) -> DayPhrase {
    let months = set_values(u64::from(fields.months), 1, 12);
    let all_months = months.len() == 12;
    let month_names = || {
        let names: Vec<String> = groups(&months, |a, b| a + 1 == b)
            .iter()
            .flat_map(|group| spell_group(group, |m| MONTHS[m as usize - 1].to_string()))
            .collect();
        join_and(&names)
    };
    let weekdays = || {
        let ordered: Vec<u32> = WEEK_ORDER
            .iter()
            .copied()
            .filter(|d| fields.days_of_week & (1 << d) != 0)
            .collect();
        let follows = |a: u32, b: u32| WEEK_ORDER.windows(2).any(|pair| pair == [a, b]);
        let names: Vec<String> = groups(&ordered, follows)
            .iter()
            .flat_map(|group| spell_group(group, |d| WEEKDAYS[d as usize].to_string()))
            .collect();
        join_and(&names)
    };
    let month_days = || {
        let days = set_values(u64::from(fields.days_of_month), 1, 31);
        let spelled: Vec<String> = groups(&days, |a, b| a + 1 == b)
            .iter()
            .flat_map(|group| spell_group(group, ordinal))
            .collect();
        format!("the {}", join_and(&spelled))
    };
    let of_months = if all_months {
        "of the month".to_string()
    } else {
        format!("of {}", month_names())
    };
    match (fields.dom_restricted, fields.dow_restricted) {
        (false, false) if all_months => DayPhrase::EveryDay,
        (false, false) => DayPhrase::EveryDayIn(month_names()),
        (false, true) if all_months && fields.days_of_week.count_ones() == 1 => {
            DayPhrase::OneWeekday(WEEKDAYS[fields.days_of_week.trailing_zeros() as usize])
        }
        (false, true) if all_months => DayPhrase::On(format!("on {}", weekdays())),
        (false, true) => DayPhrase::On(format!("on {} in {}", weekdays(), month_names())),
        (true, false) => DayPhrase::On(format!("on {} {of_months}", month_days())),
        (true, true) if all_months => DayPhrase::On(format!(
            "on {} of the month and on every {}",
            month_days(),
            weekdays()
        )),
        (true, true) => DayPhrase::On(format!(
            "on {} of the month and on every {}, in {}",
            month_days(),
            weekdays(),
            month_names()
        )),
    }
}

fn clock(hour: u32, minute: u32) -> String {
    format!("{hour:02}:{minute:02}")
}

fn ordinal(day: u32) -> String {
    let suffix = match (day % 10, day % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{day}{suffix}")
}

/// The values from `from` to `to` whose bit is set in `mask`, ascending.
fn set_values(mask: u64, from: u32, to: u32) -> Vec<u32> {
    (from..=to).filter(|v| mask & (1u64 << v) != 0).collect()
}

/// `Some(n)` when `values` is exactly 0, n, 2n, … below `period` and `n` divides `period`
/// (so the runs are evenly spaced across the hour).
fn step_from_zero(values: &[u32], period: u32) -> Option<u32> {
    let step = match values {
        [0] => return None,
        [0, second, ..] => *second,
        _ => return None,
    };
    (period.is_multiple_of(step)
        && values.len() as u32 == period / step
        && values
            .iter()
            .enumerate()
            .all(|(i, v)| *v == i as u32 * step))
    .then_some(step)
}

/// `Some(n)` when `values` has at least three members spaced exactly `n` apart.
fn arithmetic_step(values: &[u32]) -> Option<u32> {
    if values.len() < 3 {
        return None;
    }
    let step = values[1] - values[0];
    values
        .windows(2)
        .all(|pair| pair[1] - pair[0] == step)
        .then_some(step)
}

/// Splits ascending values into runs of consecutive numbers, as (first, last) pairs.
fn runs(values: &[u32]) -> Vec<(u32, u32)> {
    groups(values, |a, b| a + 1 == b)
        .iter()
        .map(|g| (g[0], g[g.len() - 1]))
        .collect()
}

/// Splits `values` into groups of neighbours, `adjacent(a, b)` saying whether `b` follows `a`.
fn groups(values: &[u32], adjacent: impl Fn(u32, u32) -> bool) -> Vec<Vec<u32>> {
    let mut groups: Vec<Vec<u32>> = Vec::new();
    for &value in values {
        match groups.last_mut() {
            Some(group) if group.last().is_some_and(|last| adjacent(*last, value)) => {
                group.push(value)
            }
            _ => groups.push(vec![value]),
        }
    }
    groups
}

/// A group of three or more as "A through C", smaller groups as their members.
fn spell_group(group: &[u32], name: impl Fn(u32) -> String) -> Vec<String> {
    match group {
        [first, _, .., last] if group.len() >= 3 => {
            vec![format!("{} through {}", name(*first), name(*last))]
        }
        _ => group.iter().map(|v| name(*v)).collect(),
    }
}

/// Numbers with runs of three or more written as ranges: "0-10, 30 and 45".
fn number_list(values: &[u32]) -> String {
    let items: Vec<String> = runs(values)
        .iter()
        .flat_map(|(first, last)| match last - first {
            0 => vec![first.to_string()],
            1 => vec![first.to_string(), last.to_string()],
            _ => vec![format!("{first}-{last}")],
        })
        .collect();
    join_and(&items)
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
