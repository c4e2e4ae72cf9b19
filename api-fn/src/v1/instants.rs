//! Bounds on instants a client sends: Postgres stores years 4713 BC to 294276 AD and chrono
//! parses far beyond that, so an instant is checked before it reaches a query.

use chrono::{DateTime, Datelike, Utc};

use crate::problem::Problem;

/// Earliest and latest years the API accepts in an instant.
pub const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

/// Refuses an instant outside [`YEARS`], naming `field`.
pub fn check_instant(field: &str, at: DateTime<Utc>) -> Result<(), Problem> {
    if YEARS.contains(&at.year()) {
        Ok(())
    } else {
        Err(Problem::invalid_field(field, "instant_out_of_range", format!("give an instant between the years {} and {}", YEARS.start(), YEARS.end())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn far_instants_are_refused() {
        assert!(check_instant("at", Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()).is_ok());
        let p = check_instant("at", Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap()).unwrap_err();
        assert_eq!((p.status, p.errors[0].field.as_str()), (422, "at"));
        assert!(check_instant("at", Utc.with_ymd_and_hms(1969, 12, 31, 0, 0, 0).unwrap()).is_err());
    }
}
