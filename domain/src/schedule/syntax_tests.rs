//! Tests of the accepted cron grammar: every refusal path, its message, and normalisation.

use super::*;

fn parse_error(expr: &str) -> ScheduleError {
    match Schedule::cron(expr, "UTC") {
        Ok(schedule) => panic!("`{expr}` was accepted as {schedule:?}"),
        Err(error) => error,
    }
}

fn normalised(expr: &str) -> String {
    match Schedule::cron(expr, "UTC").unwrap() {
        Schedule::Cron(cron) => cron.expr().to_string(),
        Schedule::Once(_) => unreachable!(),
    }
}

#[test]
fn empty_expression_is_refused() {
    assert_eq!(parse_error(""), ScheduleError::Empty);
    assert_eq!(parse_error("  \t "), ScheduleError::Empty);
}

#[test]
fn wrong_field_counts_are_refused_with_the_count() {
    assert_eq!(
        parse_error("* * * *"),
        ScheduleError::WrongFieldCount { found: 4 }
    );
    assert_eq!(
        parse_error("*"),
        ScheduleError::WrongFieldCount { found: 1 }
    );
    let seconds = parse_error("0 */5 * * * *");
    assert_eq!(seconds, ScheduleError::WrongFieldCount { found: 6 });
    assert!(seconds.to_string().contains("has 6"), "{seconds}");
    assert!(
        seconds
            .to_string()
            .contains("seconds and year fields are not supported")
    );
    assert_eq!(
        parse_error("0 0 12 * * ? 2026"),
        ScheduleError::WrongFieldCount { found: 7 }
    );
    assert!(!parse_error("* * * *").to_string().contains("seconds"));
}

#[test]
fn out_of_range_values_name_field_and_value() {
    let cases = [
        ("60 * * * *", CronField::Minute, "60"),
        ("* 24 * * *", CronField::Hour, "24"),
        ("* * 0 * *", CronField::DayOfMonth, "0"),
        ("* * 32 * *", CronField::DayOfMonth, "32"),
        ("* * * 0 *", CronField::Month, "0"),
        ("* * * 13 *", CronField::Month, "13"),
        ("* * * * 8", CronField::DayOfWeek, "8"),
        ("1,2,99 * * * *", CronField::Minute, "99"),
        ("0-60 * * * *", CronField::Minute, "60"),
        ("99999999999 * * * *", CronField::Minute, "99999999999"),
    ];
    for (expr, field, value) in cases {
        assert_eq!(
            parse_error(expr),
            ScheduleError::OutOfRange {
                field,
                value: value.to_string()
            },
            "{expr}"
        );
    }
    let message = parse_error("60 * * * *").to_string();
    assert_eq!(
        message,
        "minute field: `60` is out of range; the minute field accepts 0-59"
    );
}

#[test]
fn bad_steps_are_refused() {
    let cases = [
        ("*/0 * * * *", CronField::Minute, "*/0", 59),
        ("*/60 * * * *", CronField::Minute, "*/60", 59),
        ("*/x * * * *", CronField::Minute, "*/x", 59),
        ("1-5/ * * * *", CronField::Minute, "1-5/", 59),
        ("*/5/2 * * * *", CronField::Minute, "*/5/2", 59),
        ("* */24 * * *", CronField::Hour, "*/24", 23),
        ("* * * * */7", CronField::DayOfWeek, "*/7", 6),
    ];
    for (expr, field, item, max) in cases {
        assert_eq!(
            parse_error(expr),
            ScheduleError::BadStep {
                field,
                item: item.to_string(),
                max
            },
            "{expr}"
        );
    }
    assert_eq!(
        parse_error("*/0 * * * *").to_string(),
        "minute field: the step in `*/0` must be a whole number from 1 to 59"
    );
}

#[test]
fn a_step_after_a_single_value_is_refused_with_the_range_form() {
    let error = parse_error("5/15 * * * *");
    assert_eq!(
        error,
        ScheduleError::StepWithoutRange {
            field: CronField::Minute,
            item: "5/15".to_string(),
            example: "5-59/15".to_string(),
        }
    );
    assert!(error.to_string().contains("`5-59/15`"));
}

#[test]
fn backwards_ranges_are_refused() {
    assert_eq!(
        parse_error("30-10 * * * *"),
        ScheduleError::BackwardsRange {
            field: CronField::Minute,
            range: "30-10".to_string()
        }
    );
    assert_eq!(
        parse_error("0 0 * * FRI-MON"),
        ScheduleError::BackwardsRange {
            field: CronField::DayOfWeek,
            range: "FRI-MON".to_string()
        }
    );
    // `SUN` closing a range is 7, so these run every day rather than being backwards.
    assert_eq!(normalised("0 0 * * mon-sun"), "0 0 * * MON-SUN");
    assert_eq!(normalised("0 0 * * SUN-SAT"), "0 0 * * SUN-SAT");
}

#[test]
fn extensions_are_refused_naming_the_feature() {
    let cases = [
        ("0 0 L * *", CronField::DayOfMonth, "L", "`L`"),
        ("0 0 15W * *", CronField::DayOfMonth, "15W", "`W`"),
        ("0 0 LW * *", CronField::DayOfMonth, "LW", "`W`"),
        ("0 0 * * 5L", CronField::DayOfWeek, "5L", "`L`"),
        ("0 0 * * 5#3", CronField::DayOfWeek, "5#3", "`#`"),
        ("0 0 ? * MON", CronField::DayOfMonth, "?", "`?`"),
        ("0 0 1 * +MON", CronField::DayOfWeek, "+MON", "`+`"),
        ("H * * * *", CronField::Minute, "H", "`H`"),
    ];
    for (expr, field, item, feature) in cases {
        match parse_error(expr) {
            ScheduleError::UnsupportedSyntax {
                field: f,
                item: i,
                feature: text,
            } => {
                assert_eq!((f, i.as_str()), (field, item), "{expr}");
                assert!(text.starts_with(feature), "{expr}: {text}");
            }
            other => panic!("{expr}: {other:?}"),
        }
    }
}

#[test]
fn invalid_values_and_misplaced_names_are_refused() {
    assert_eq!(
        parse_error("0 0 * * MONDAY"),
        ScheduleError::InvalidValue {
            field: CronField::DayOfWeek,
            value: "MONDAY".to_string()
        }
    );
    assert_eq!(
        parse_error("-5 * * * *"),
        ScheduleError::InvalidValue {
            field: CronField::Minute,
            value: "-5".to_string()
        }
    );
    assert_eq!(
        parse_error("0 0 * MON *"),
        ScheduleError::NameInWrongField {
            field: CronField::Month,
            value: "MON".to_string(),
            named: "weekday"
        }
    );
    assert_eq!(
        parse_error("0 0 * * jul"),
        ScheduleError::NameInWrongField {
            field: CronField::DayOfWeek,
            value: "jul".to_string(),
            named: "month"
        }
    );
    assert_eq!(
        parse_error("0 noon * * *"),
        ScheduleError::InvalidValue {
            field: CronField::Hour,
            value: "noon".to_string()
        }
    );
}

#[test]
fn empty_list_items_are_refused() {
    assert_eq!(
        parse_error("1,,2 * * * *"),
        ScheduleError::EmptyListItem {
            field: CronField::Minute,
            text: "1,,2".to_string()
        }
    );
    assert_eq!(
        parse_error("0 0 * * 1,"),
        ScheduleError::EmptyListItem {
            field: CronField::DayOfWeek,
            text: "1,".to_string()
        }
    );
}

#[test]
fn shorthands_are_checked() {
    assert_eq!(
        parse_error("@reboot"),
        ScheduleError::UnknownShorthand {
            shorthand: "@reboot".to_string()
        }
    );
    assert_eq!(
        parse_error("@every 5m"),
        ScheduleError::ShorthandWithFields {
            shorthand: "@every".to_string()
        }
    );
    assert_eq!(
        parse_error("@daily 0"),
        ScheduleError::ShorthandWithFields {
            shorthand: "@daily".to_string()
        }
    );
}

#[test]
fn expressions_that_never_run_are_refused() {
    assert_eq!(
        parse_error("0 0 30 2 *"),
        ScheduleError::NeverRuns {
            days: "30".to_string(),
            months: "2".to_string()
        }
    );
    assert_eq!(
        parse_error("0 0 31 apr,jun,sep,nov *"),
        ScheduleError::NeverRuns {
            days: "31".to_string(),
            months: "APR,JUN,SEP,NOV".to_string()
        }
    );
    // A weekday makes it run, and the leap day exists.
    assert!(Schedule::cron("0 0 30 2 MON", "UTC").is_ok());
    assert!(Schedule::cron("0 0 29 2 *", "UTC").is_ok());
}

#[test]
fn overlong_expressions_are_refused() {
    let long = format!("0 0 {} * *", vec!["1"; 200].join(","));
    assert_eq!(
        parse_error(&long),
        ScheduleError::TooLong {
            length: long.len(),
            max: 256
        }
    );
}

#[test]
fn time_zones_must_be_known_iana_names() {
    assert_eq!(
        Schedule::cron("0 9 * * *", "Europe/Olso").unwrap_err(),
        ScheduleError::UnknownTimezone {
            name: "Europe/Olso".to_string()
        }
    );
    assert_eq!(
        Schedule::cron("0 9 * * *", "europe/oslo").unwrap_err(),
        ScheduleError::UnknownTimezone {
            name: "europe/oslo".to_string()
        }
    );
    assert_eq!(
        Schedule::cron("0 9 * * *", "").unwrap_err(),
        ScheduleError::EmptyTimezone
    );
    assert!(Schedule::cron("0 9 * * *", "America/New_York").is_ok());
    assert!(Schedule::cron("0 9 * * *", "UTC").is_ok());
}

#[test]
fn expressions_are_normalised() {
    assert_eq!(
        normalised("  */5   9-17 * *\tmon-fri "),
        "*/5 9-17 * * MON-FRI"
    );
    assert_eq!(normalised("00 09 01 jan *"), "0 9 1 JAN *");
    assert_eq!(normalised("@daily"), "0 0 * * *");
    assert_eq!(normalised("@MIDNIGHT"), "0 0 * * *");
    assert_eq!(normalised("@weekly"), "0 0 * * 0");
    assert_eq!(normalised("@monthly"), "0 0 1 * *");
    assert_eq!(normalised("@yearly"), "0 0 1 1 *");
    assert_eq!(normalised("@annually"), "0 0 1 1 *");
    assert_eq!(normalised("@hourly"), "0 * * * *");
    assert_eq!(
        normalised("1-10/3,30 */6 1,15 */2 0,7"),
        "1-10/3,30 */6 1,15 */2 0,7"
    );
    // The normalised form parses to the same schedule.
    let original = Schedule::cron("00 09 01 jan *", "Europe/Oslo").unwrap();
    assert_eq!(original.to_spec().parse().unwrap(), original);
}

#[test]
fn the_dst_rule_follows_vixie_cron() {
    let rule = |expr: &str| match Schedule::cron(expr, "UTC").unwrap() {
        Schedule::Cron(cron) => cron.dst_rule(),
        Schedule::Once(_) => unreachable!(),
    };
    assert_eq!(rule("30 2 * * *"), DstRule::FixedTime);
    assert_eq!(rule("0 9-17 * * 1-5"), DstRule::FixedTime);
    assert_eq!(rule("0,30 2 * * *"), DstRule::FixedTime);
    assert_eq!(rule("0-59 0-23 * * *"), DstRule::FixedTime);
    assert_eq!(rule("@daily"), DstRule::FixedTime);
    assert_eq!(rule("*/15 * * * *"), DstRule::Wildcard);
    assert_eq!(rule("0 * * * *"), DstRule::Wildcard);
    assert_eq!(rule("*/10 2 * * *"), DstRule::Wildcard);
    assert_eq!(rule("0 */2 * * *"), DstRule::Wildcard);
    assert_eq!(rule("@hourly"), DstRule::Wildcard);
    // Only the first character counts, as in Vixie cron.
    assert_eq!(rule("7,*/15 2 * * *"), DstRule::FixedTime);
}
