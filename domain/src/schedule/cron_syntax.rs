//! The accepted cron grammar: turns expression text into value sets and a normalised string,
//! refusing everything outside the documented syntax with a message naming field and value.

use super::error::{CronField, ScheduleError};

/// Longest expression accepted, in bytes. Real expressions are far shorter; the cap keeps
/// parsing cost bounded for hostile input.
pub const MAX_EXPRESSION_LENGTH: usize = 256;

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// A parsed five-field expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CronFields {
    /// Bit `m` set when minute `m` (0-59) matches.
    pub minutes: u64,
    /// Bit `h` set when hour `h` (0-23) matches.
    pub hours: u32,
    /// Bit `d` set when day-of-month `d` (1-31) matches.
    pub days_of_month: u32,
    /// Bit `m` set when month `m` (1-12) matches.
    pub months: u16,
    /// Bit `d` set when weekday `d` (0 = Sunday .. 6 = Saturday) matches; 7 is folded into 0.
    pub days_of_week: u8,
    /// The day-of-month field is anything but a bare `*`.
    pub dom_restricted: bool,
    /// The day-of-week field is anything but a bare `*`.
    pub dow_restricted: bool,
    /// The minute or the hour field begins with `*` (Vixie cron's "wildcard job").
    pub wildcard_time: bool,
    /// The expression as stored and echoed: single spaces, shorthands expanded, names upper-case,
    /// numbers without leading zeros.
    pub normalised: String,
    /// The same schedule spelled for croner: plain numbers and lists only.
    pub croner_pattern: String,
}

/// Parses a five-field expression or a shorthand.
pub(crate) fn parse_cron(expr: &str) -> Result<CronFields, ScheduleError> {
    if expr.len() > MAX_EXPRESSION_LENGTH {
        return Err(ScheduleError::TooLong {
            length: expr.len(),
            max: MAX_EXPRESSION_LENGTH,
        });
    }
    let tokens: Vec<&str> = expr.split_whitespace().collect();
    let Some(first) = tokens.first() else {
        return Err(ScheduleError::Empty);
    };
    if first.starts_with('@') {
        if tokens.len() > 1 {
            return Err(ScheduleError::ShorthandWithFields {
                shorthand: (*first).to_string(),
            });
        }
        let expanded = expand_shorthand(first).ok_or_else(|| ScheduleError::UnknownShorthand {
            shorthand: (*first).to_string(),
        })?;
        return parse_cron(expanded);
    }
    if tokens.len() != 5 {
        return Err(ScheduleError::WrongFieldCount {
            found: tokens.len(),
        });
    }

    let mut parsed = Vec::with_capacity(5);
    for (field, text) in CronField::ALL.into_iter().zip(&tokens) {
        parsed.push(parse_field(field, text)?);
    }
    let [minute, hour, dom, month, dow] =
        <[ParsedField; 5]>::try_from(parsed).map_err(|_| ScheduleError::WrongFieldCount {
            found: tokens.len(),
        })?;

    let fields = CronFields {
        minutes: minute.mask,
        hours: mask_u32(hour.mask),
        days_of_month: mask_u32(dom.mask),
        months: (month.mask & 0x1FFE) as u16,
        days_of_week: ((dow.mask & 0x7F) | ((dow.mask >> 7) & 1)) as u8,
        dom_restricted: dom.text != "*",
        dow_restricted: dow.text != "*",
        wildcard_time: minute.text.starts_with('*') || hour.text.starts_with('*'),
        normalised: [&minute.text, &hour.text, &dom.text, &month.text, &dow.text]
            .map(String::as_str)
            .join(" "),
        croner_pattern: String::new(),
    };
    check_can_run(&fields, &dom.text, &month.text)?;
    Ok(CronFields {
        croner_pattern: croner_pattern(&fields),
        ..fields
    })
}

fn mask_u32(mask: u64) -> u32 {
    (mask & u64::from(u32::MAX)) as u32
}

/// The five-field form of each shorthand (case-insensitive).
fn expand_shorthand(shorthand: &str) -> Option<&'static str> {
    Some(match shorthand.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => return None,
    })
}

/// Refuses a day-of-month that no selected month has (e.g. `0 0 30 2 *`), which would never run.
/// When day-of-week is also restricted the two are OR-ed, so the weekday always makes it run.
fn check_can_run(
    fields: &CronFields,
    dom_text: &str,
    month_text: &str,
) -> Result<(), ScheduleError> {
    if !fields.dom_restricted || fields.dow_restricted {
        return Ok(());
    }
    let runs_some_month = (1..=12u32)
        .filter(|m| fields.months & (1 << m) != 0)
        .any(|month| {
            let longest = longest_month(month);
            (1..=longest).any(|day| fields.days_of_month & (1 << day) != 0)
        });
    if runs_some_month {
        Ok(())
    } else {
        Err(ScheduleError::NeverRuns {
            days: dom_text.to_string(),
            months: month_text.to_string(),
        })
    }
}

/// Longest length a month can have (February counts its leap day).
fn longest_month(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The expression spelled with plain numbers, which is all croner is ever given. Day fields stay
/// a bare `*` exactly when written so, because that decides the day-of-month/day-of-week rule.
fn croner_pattern(fields: &CronFields) -> String {
    fn list(mask: u64, from: u32, to: u32) -> String {
        (from..=to)
            .filter(|v| mask & (1u64 << v) != 0)
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
    let dom = if fields.dom_restricted {
        list(u64::from(fields.days_of_month), 1, 31)
    } else {
        "*".to_string()
    };
    let dow = if fields.dow_restricted {
        list(u64::from(fields.days_of_week), 0, 6)
    } else {
        "*".to_string()
    };
    format!(
        "{} {} {} {} {}",
        list(fields.minutes, 0, 59),
        list(u64::from(fields.hours), 0, 23),
        dom,
        list(u64::from(fields.months), 1, 12),
        dow
    )
}

struct ParsedField {
    mask: u64,
    text: String,
}

fn parse_field(field: CronField, text: &str) -> Result<ParsedField, ScheduleError> {
    let mut mask = 0u64;
    let mut items = Vec::new();
    for item in text.split(',') {
        if item.is_empty() {
            return Err(ScheduleError::EmptyListItem {
                field,
                text: text.to_string(),
            });
        }
        let (item_mask, item_text) = parse_item(field, item)?;
        mask |= item_mask;
        items.push(item_text);
    }
    Ok(ParsedField {
        mask,
        text: items.join(","),
    })
}

/// One list item: `*`, `*/n`, `v`, `a-b` or `a-b/n`.
fn parse_item(field: CronField, item: &str) -> Result<(u64, String), ScheduleError> {
    let (base, step) = match item.split_once('/') {
        Some((base, step_text)) => (base, Some(parse_step(field, item, step_text)?)),
        None => (item, None),
    };
    let (from, to, base_text) = if base == "*" {
        (field.min(), field.star_max(), "*".to_string())
    } else if let Some((start, end)) = split_range(base) {
        let (from, from_text) = parse_value(field, start)?;
        let (mut to, to_text) = parse_value(field, end)?;
        if field == CronField::DayOfWeek && to_text == "SUN" {
            to = 7; // `FRI-SUN` ends on the Sunday that closes the week
        }
        if from > to {
            return Err(ScheduleError::BackwardsRange {
                field,
                range: base.to_string(),
            });
        }
        (from, to, format!("{from_text}-{to_text}"))
    } else {
        let (value, value_text) = parse_value(field, base)?;
        if step.is_some() {
            return Err(ScheduleError::StepWithoutRange {
                field,
                item: item.to_string(),
                example: format!("{value_text}-{}/{}", field.star_max(), step.unwrap_or(1)),
            });
        }
        (value, value, value_text)
    };
    let step_by = step.unwrap_or(1);
    let mask = (from..=to)
        .step_by(step_by as usize)
        .fold(0u64, |mask, v| mask | (1u64 << v));
    let text = match step {
        Some(step) => format!("{base_text}/{step}"),
        None => base_text,
    };
    Ok((mask, text))
}

/// Splits `a-b`; `None` when the text has no dash. A leading dash (a negative number) or more
/// than one dash is left for `parse_value` to refuse.
fn split_range(base: &str) -> Option<(&str, &str)> {
    let (start, end) = base.split_once('-')?;
    if start.is_empty() || end.is_empty() || end.contains('-') {
        None
    } else {
        Some((start, end))
    }
}

fn parse_step(field: CronField, item: &str, step_text: &str) -> Result<u32, ScheduleError> {
    let max = field.star_max() - field.min();
    let bad_step = || ScheduleError::BadStep {
        field,
        item: item.to_string(),
        max,
    };
    if step_text.is_empty() || step_text.len() > 4 || !step_text.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad_step());
    }
    match step_text.parse::<u32>() {
        Ok(step) if (1..=max).contains(&step) => Ok(step),
        _ => Err(bad_step()),
    }
}

/// A single number or name, returned with its normalised spelling.
fn parse_value(field: CronField, token: &str) -> Result<(u32, String), ScheduleError> {
    if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
        let value = if token.len() > 4 {
            None
        } else {
            token.parse::<u32>().ok()
        };
        return match value {
            Some(v) if (field.min()..=field.max()).contains(&v) => Ok((v, v.to_string())),
            _ => Err(ScheduleError::OutOfRange {
                field,
                value: token.to_string(),
            }),
        };
    }
    let upper = token.to_ascii_uppercase();
    let own_names: &[&str] = match field {
        CronField::Month => &MONTH_NAMES,
        CronField::DayOfWeek => &WEEKDAY_NAMES,
        _ => &[],
    };
    if let Some(index) = own_names.iter().position(|name| *name == upper) {
        let value = index as u32 + if field == CronField::Month { 1 } else { 0 };
        return Ok((value, upper));
    }
    if MONTH_NAMES.contains(&upper.as_str()) {
        return Err(ScheduleError::NameInWrongField {
            field,
            value: token.to_string(),
            named: "month",
        });
    }
    if WEEKDAY_NAMES.contains(&upper.as_str()) {
        return Err(ScheduleError::NameInWrongField {
            field,
            value: token.to_string(),
            named: "weekday",
        });
    }
    if let Some(feature) = unsupported_feature(field, &upper) {
        return Err(ScheduleError::UnsupportedSyntax {
            field,
            item: token.to_string(),
            feature,
        });
    }
    Err(ScheduleError::InvalidValue {
        field,
        value: token.to_string(),
    })
}

/// Recognises the extensions of Quartz, croner and Jenkins that this grammar leaves out, so the
/// message can say which feature was meant.
fn unsupported_feature(field: CronField, upper: &str) -> Option<&'static str> {
    let day_field = matches!(field, CronField::DayOfMonth | CronField::DayOfWeek);
    if upper.contains('?') {
        Some("`?` (\"no specific value\", from Quartz)")
    } else if upper.contains('#') {
        Some("`#` (nth weekday of the month)")
    } else if upper.starts_with('+') {
        Some("`+` (day-of-month AND day-of-week)")
    } else if upper.starts_with('H') && upper[1..].bytes().all(|b| b.is_ascii_digit() || b == b'(')
    {
        Some("`H` (hashed values, from Jenkins)")
    } else if day_field && upper.ends_with('W') && upper.len() > 1 {
        Some("`W` (nearest weekday)")
    } else if day_field && (upper == "L" || upper.ends_with('L') || upper.starts_with('L')) {
        Some("`L` (last day or last weekday of the month)")
    } else {
        None
    }
}
