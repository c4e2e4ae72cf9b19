//! Parsing the `Retry-After` response header (RFC 9110 §10.2.3) into a delay.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};

/// The three HTTP-date forms recipients must accept (RFC 9110 §5.6.7): IMF-fixdate first, then
/// the obsolete RFC 850 and asctime forms.
const HTTP_DATE_FORMATS: [&str; 3] = [
    "%a, %d %b %Y %H:%M:%S GMT",
    "%A, %d-%b-%y %H:%M:%S GMT",
    "%a %b %e %H:%M:%S %Y",
];

/// The delay a `Retry-After` value asks for, measured from `now`.
///
/// Accepts delay-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2026 07:28:00 GMT`). A date in
/// the past means "now" (`Duration::ZERO`). Absurdly large second counts saturate rather than
/// fail; [`decide`](super::decide) clamps the result. Returns `None` for a value that is neither
/// form: an unparseable header is treated as absent, not as an error of the delivery.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs));
    }
    let at = HTTP_DATE_FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())?
        .and_utc();
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(1994, 11, 6, 8, 49, 0).unwrap()
    }

    #[test]
    fn delay_seconds() {
        assert_eq!(
            parse_retry_after("120", now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now()), Some(Duration::ZERO));
    }

    #[test]
    fn huge_delay_seconds_saturate() {
        let v = "99999999999999999999999999";
        assert_eq!(
            parse_retry_after(v, now()),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn imf_fixdate() {
        let d = parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now());
        assert_eq!(d, Some(Duration::from_secs(37)));
    }

    #[test]
    fn obsolete_rfc850_date() {
        let d = parse_retry_after("Sunday, 06-Nov-94 08:50:00 GMT", now());
        assert_eq!(d, Some(Duration::from_secs(60)));
    }

    #[test]
    fn obsolete_asctime_date() {
        let d = parse_retry_after("Sun Nov  6 08:49:30 1994", now());
        assert_eq!(d, Some(Duration::from_secs(30)));
    }

    #[test]
    fn past_dates_mean_now() {
        let d = parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now());
        assert_eq!(d, Some(Duration::ZERO));
    }

    #[test]
    fn garbage_is_ignored() {
        for v in [
            "",
            "   ",
            "-5",
            "1.5",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "120s",
        ] {
            assert_eq!(parse_retry_after(v, now()), None, "{v:?}");
        }
    }
}
