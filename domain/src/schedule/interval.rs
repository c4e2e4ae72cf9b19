//! The shortest gap between consecutive runs of a cron expression, read on its wall clock and
//! computed exactly from the fields over one full cycle of the Gregorian calendar.

use super::cron_syntax::CronFields;

const MINUTES_PER_DAY: u32 = 24 * 60;

/// The Gregorian calendar, weekdays included, repeats every 400 years (146,097 days, a whole
/// number of weeks), so one cycle holds every gap between run days there will ever be.
const CYCLE_START_YEAR: i32 = 2000;
const CYCLE_YEARS: i32 = 400;
const CYCLE_DAYS: u32 = 146_097;
/// 2000-01-01 was a Saturday (0 = Sunday).
const CYCLE_START_WEEKDAY: u32 = 6;

/// Shortest gap in minutes between two consecutive runs, ignoring daylight-saving shifts.
///
/// Within a day the runs are the same on every run day, so the gap is the smaller of the
/// shortest gap between two run times of one day and the shortest jump from the last run of a
/// run day to the first run of the next run day.
pub(crate) fn shortest_gap_minutes(fields: &CronFields) -> u32 {
    let mut first_time = None;
    let mut previous_time: Option<u32> = None;
    let mut shortest_within_day = u32::MAX;
    for hour in (0..24u32).filter(|h| fields.hours & (1 << h) != 0) {
        for minute in (0..60u32).filter(|m| fields.minutes & (1u64 << m) != 0) {
            let time = hour * 60 + minute;
            if let Some(previous) = previous_time {
                shortest_within_day = shortest_within_day.min(time - previous);
            }
            first_time.get_or_insert(time);
            previous_time = Some(time);
        }
    }
    let span = previous_time.unwrap_or(0) - first_time.unwrap_or(0);
    let across_days = shortest_gap_days(fields) * MINUTES_PER_DAY - span;
    shortest_within_day.min(across_days)
}

/// Shortest distance in days between two consecutive run days over one calendar cycle,
/// including the step from the cycle's last run day to the next cycle's first.
fn shortest_gap_days(fields: &CronFields) -> u32 {
    let weekday_masks = weekday_masks(fields.days_of_week);
    let mut day_number = 0u32;
    let mut weekday_of_first = CYCLE_START_WEEKDAY;
    let mut first_run_day = None;
    let mut last_run_day: Option<u32> = None;
    let mut shortest = CYCLE_DAYS;
    for year in CYCLE_START_YEAR..CYCLE_START_YEAR + CYCLE_YEARS {
        for month in 1..=12u32 {
            let length = days_in_month(year, month);
            if fields.months & (1 << month) != 0 {
                let length_mask = ((1u32 << length) - 1) << 1;
                let by_weekday = weekday_masks[weekday_of_first as usize];
                let run_days = length_mask
                    & match (fields.dom_restricted, fields.dow_restricted) {
                        (false, false) => u32::MAX,
                        (true, false) => fields.days_of_month,
                        (false, true) => by_weekday,
                        (true, true) => fields.days_of_month | by_weekday,
                    };
                let mut remaining = run_days;
                while remaining != 0 {
                    let day = remaining.trailing_zeros();
                    remaining &= remaining - 1;
                    let run_day = day_number + day - 1;
                    if let Some(last) = last_run_day {
                        shortest = shortest.min(run_day - last);
                        if shortest == 1 {
                            return 1;
                        }
                    }
                    first_run_day.get_or_insert(run_day);
                    last_run_day = Some(run_day);
                }
            }
            day_number += length;
            weekday_of_first = (weekday_of_first + length) % 7;
        }
    }
    if let (Some(first), Some(last)) = (first_run_day, last_run_day) {
        shortest = shortest.min(first + CYCLE_DAYS - last);
    }
    shortest
}

/// For each weekday of the 1st of a month (0 = Sunday), the days of the month (bits 1-31) that
/// fall on a weekday in `days_of_week`.
fn weekday_masks(days_of_week: u8) -> [u32; 7] {
    let mut masks = [0u32; 7];
    for (weekday_of_first, mask) in masks.iter_mut().enumerate() {
        for day in 1..=31u32 {
            let weekday = (weekday_of_first as u32 + day - 1) % 7;
            if days_of_week & (1 << weekday) != 0 {
                *mask |= 1 << day;
            }
        }
    }
    masks
}

pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}
