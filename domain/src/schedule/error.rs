//! Why a schedule was refused: one variant per mistake, each message naming the field and value.

use std::fmt;

/// One of the five fields of a cron expression, for error messages and descriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CronField {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl CronField {
    /// The five fields in the order they are written.
    pub const ALL: [CronField; 5] = [
        CronField::Minute,
        CronField::Hour,
        CronField::DayOfMonth,
        CronField::Month,
        CronField::DayOfWeek,
    ];

    /// Smallest value the field accepts.
    pub const fn min(self) -> u32 {
        match self {
            CronField::Minute | CronField::Hour | CronField::DayOfWeek => 0,
            CronField::DayOfMonth | CronField::Month => 1,
        }
    }

    /// Largest value the field accepts (day-of-week accepts 7 as another name for Sunday).
    pub const fn max(self) -> u32 {
        match self {
            CronField::Minute => 59,
            CronField::Hour => 23,
            CronField::DayOfMonth => 31,
            CronField::Month => 12,
            CronField::DayOfWeek => 7,
        }
    }

    /// Largest value `*` stands for (day-of-week `*` is 0-6).
    pub(crate) const fn star_max(self) -> u32 {
        match self {
            CronField::DayOfWeek => 6,
            other => other.max(),
        }
    }

    /// What the field accepts, as written in error messages.
    fn accepted(self) -> &'static str {
        match self {
            CronField::Minute => "0-59",
            CronField::Hour => "0-23",
            CronField::DayOfMonth => "1-31",
            CronField::Month => "1-12 or JAN-DEC",
            CronField::DayOfWeek => "0-7 (0 and 7 are Sunday) or SUN-SAT",
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
        })
    }
}

/// A schedule the service refuses, with a message meant for the person who wrote it.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ScheduleError {
    #[error(
        "the cron expression is empty: write 5 fields (minute hour day-of-month month day-of-week) or a shorthand such as @daily"
    )]
    Empty,

    #[error("the cron expression is {length} characters long; at most {max} are accepted")]
    TooLong { length: usize, max: usize },

    #[error("{}", field_count_message(*found))]
    WrongFieldCount { found: usize },

    #[error(
        "unknown shorthand `{shorthand}`: use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually"
    )]
    UnknownShorthand { shorthand: String },

    #[error("the shorthand `{shorthand}` must stand alone, without further fields")]
    ShorthandWithFields { shorthand: String },

    #[error(
        "{field} field: empty item in `{text}` (two commas in a row, or a comma at the start or end)"
    )]
    EmptyListItem { field: CronField, text: String },

    #[error("{field} field: `{value}` is out of range; the {field} field accepts {}", field.accepted())]
    OutOfRange { field: CronField, value: String },

    #[error("{field} field: `{value}` is not a number or name; the {field} field accepts {}", field.accepted())]
    InvalidValue { field: CronField, value: String },

    #[error("{field} field: `{value}` names a {named}, which the {field} field does not take; it accepts {}", field.accepted())]
    NameInWrongField {
        field: CronField,
        value: String,
        named: &'static str,
    },

    #[error(
        "{field} field: the range `{range}` runs backwards; write the smaller value first (ranges do not wrap around)"
    )]
    BackwardsRange { field: CronField, range: String },

    #[error("{field} field: the step in `{item}` must be a whole number from 1 to {max}")]
    BadStep {
        field: CronField,
        item: String,
        max: u32,
    },

    #[error(
        "{field} field: `{item}` puts a step after a single value; a step needs `*` or a range before the `/`, e.g. `*/15` or `{example}`"
    )]
    StepWithoutRange {
        field: CronField,
        item: String,
        example: String,
    },

    #[error(
        "{field} field: `{item}` uses {feature}, which is not supported; use plain values, ranges, lists and steps"
    )]
    UnsupportedSyntax {
        field: CronField,
        item: String,
        feature: &'static str,
    },

    #[error("the expression never runs: day-of-month `{days}` does not occur in month `{months}`")]
    NeverRuns { days: String, months: String },

    #[error("the cron expression could not be prepared for evaluation: {detail}")]
    EngineRejected { detail: String },

    #[error(
        "the time zone name is empty; use an IANA name such as `Europe/Oslo`, or leave it out for UTC"
    )]
    EmptyTimezone,

    #[error(
        "unknown time zone `{name}`; use an IANA name such as `Europe/Oslo`, `America/New_York` or `UTC` (names are case-sensitive)"
    )]
    UnknownTimezone { name: String },

    #[error("{preset} preset: {part} {value} is out of range; {part} takes {range}")]
    PresetOutOfRange {
        preset: &'static str,
        part: &'static str,
        value: u32,
        range: &'static str,
    },
}

fn field_count_message(found: usize) -> String {
    let base = format!(
        "a cron expression has exactly 5 fields (minute hour day-of-month month day-of-week), but this one has {found}"
    );
    match found {
        6 | 7 => format!("{base}; seconds and year fields are not supported"),
        _ => base,
    }
}
