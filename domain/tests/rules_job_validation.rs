//! The job aggregate end to end: JSON draft → `validate` → `JobSpec` or every field error.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::job::{
    CatchUp, HttpMethod, JobDraft, Overlap, TimeoutSecs, ValidationErrors, validate,
};
use domain::retry::RetryPolicy;
use domain::schedule::Schedule;
use domain::tier::Tier;
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn draft(value: Value) -> JobDraft {
    serde_json::from_value(value).expect("draft JSON should deserialize")
}

fn cron_draft(expr: &str) -> Value {
    json!({
        "name": "Nightly report",
        "url": "https://example.com/hooks/report",
        "schedule": {"kind": "cron", "expr": expr}
    })
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

fn errors_of(value: Value, tier: Tier) -> ValidationErrors {
    validate(&draft(value), tier, now()).expect_err("draft should be rejected")
}

fn fields_and_codes(errors: &ValidationErrors) -> Vec<(String, &'static str)> {
    errors.iter().map(|e| (e.field.clone(), e.code)).collect()
}

fn only(value: Value, tier: Tier) -> (String, &'static str, String) {
    let errors = errors_of(value, tier);
    assert_eq!(errors.len(), 1, "expected exactly one error, got {errors}");
    let e = &errors.0[0];
    (e.field.clone(), e.code, e.message.clone())
}

#[test]
fn a_minimal_cron_job_gets_every_default() {
    let spec = validate(&draft(cron_draft("*/5 * * * *")), Tier::Pro, now()).unwrap();
    assert_eq!(spec.name.as_str(), "Nightly report");
    assert_eq!(spec.key, None);
    assert_eq!(spec.method, HttpMethod::Post);
    assert!(spec.headers.is_empty());
    assert_eq!(spec.body, None);
    assert_eq!(spec.timeout, TimeoutSecs::DEFAULT);
    assert!(spec.enabled);
    assert_eq!(spec.retry, RetryPolicy::cron_default());
    assert_eq!(spec.catch_up, CatchUp::RunOnce);
    assert_eq!(spec.overlap, Overlap::Allow);
    assert_eq!(spec.completion_window, None);
    assert_eq!(spec.interval_minutes, Some(5));
    assert!(matches!(spec.schedule, Schedule::Cron(_)));
}

#[test]
fn a_one_time_job_retries_by_default_and_has_no_interval() {
    let at = now() + Duration::hours(2);
    let value = json!({
        "name": "Send reminder",
        "url": "https://example.com/remind",
        "schedule": {"kind": "once", "at": at}
    });
    let spec = validate(&draft(value), Tier::Free, now()).unwrap();
    assert_eq!(spec.retry, RetryPolicy::one_time_default());
    assert_eq!(spec.interval_minutes, None);
    assert_eq!(spec.schedule, Schedule::Once(at));
}

#[test]
fn every_field_can_be_given() {
    let value = json!({
        "name": "Sync",
        "key": "billing.sync",
        "url": "https://example.com/sync",
        "method": "put",
        "headers": {"Authorization": "Bearer t", "Content-Type": "application/json"},
        "body": "{\"full\":true}",
        "timeout_secs": 120,
        "enabled": false,
        "retry": {"max_attempts": 3, "base_delay_secs": 30},
        "catch_up": {"mode": "run_all", "cap": 5},
        "overlap": "skip",
        "completion_window_secs": 600,
        "schedule": {"kind": "cron", "expr": "0 3 * * *", "timezone": "Europe/Oslo"}
    });
    let spec = validate(&draft(value), Tier::Pro, now()).unwrap();
    assert_eq!(spec.key.as_ref().map(|k| k.as_str()), Some("billing.sync"));
    assert_eq!(spec.method, HttpMethod::Put);
    let headers: Vec<_> = spec.headers.iter().collect();
    assert_eq!(
        headers,
        [
            ("Authorization", "Bearer t"),
            ("Content-Type", "application/json")
        ]
    );
    assert_eq!(
        spec.body.as_ref().map(|b| b.as_str()),
        Some("{\"full\":true}")
    );
    assert_eq!(spec.timeout.secs(), 120);
    assert!(!spec.enabled);
    assert_eq!(spec.retry, RetryPolicy::new(3, 30, 3600).unwrap());
    assert!(matches!(spec.catch_up, CatchUp::RunAll { cap } if cap.get() == 5));
    assert_eq!(spec.overlap, Overlap::Skip);
    assert_eq!(spec.completion_window.map(|w| w.secs()), Some(600));
    assert_eq!(spec.interval_minutes, Some(1440));
}

#[test]
fn unknown_fields_are_refused_at_deserialisation() {
    let value = with(cron_draft("@daily"), "retries", json!(3));
    let err = serde_json::from_value::<JobDraft>(value).unwrap_err();
    assert!(err.to_string().contains("retries"), "{err}");
}

#[test]
fn an_empty_draft_reports_each_required_field() {
    let errors = errors_of(json!({}), Tier::Free);
    assert_eq!(
        fields_and_codes(&errors),
        [
            ("name".to_owned(), "name_empty"),
            ("url".to_owned(), "url_required"),
            ("schedule".to_owned(), "schedule_required"),
        ]
    );
}

#[test]
fn all_errors_are_collected_not_just_the_first() {
    let value = json!({
        "name": "   ",
        "key": "no spaces allowed",
        "url": "ftp://example.com",
        "method": "TRACE",
        "headers": [{"name": "Host", "value": "x"}, {"name": "X-Ok", "value": "a\r\nb"}],
        "body": "x".repeat(300 * 1024),
        "timeout_secs": 0,
        "retry": {"max_attempts": 0},
        "catch_up": {"mode": "skip", "cap": 3},
        "completion_window_secs": 1,
        "schedule": {"kind": "cron", "expr": "* * * *"}
    });
    let errors = errors_of(value, Tier::Free);
    assert_eq!(
        fields_and_codes(&errors),
        [
            ("name".to_owned(), "name_empty"),
            ("key".to_owned(), "key_invalid_chars"),
            ("url".to_owned(), "url_scheme"),
            ("method".to_owned(), "method_invalid"),
            ("headers[0].name".to_owned(), "header_name_forbidden"),
            ("headers[1].value".to_owned(), "header_value_invalid"),
            ("body".to_owned(), "body_too_large"),
            ("timeout_secs".to_owned(), "timeout_zero"),
            ("schedule.expr".to_owned(), "schedule_cron"),
            ("retry.max_attempts".to_owned(), "retry_max_attempts"),
            ("catch_up.cap".to_owned(), "catch_up_cap_unexpected"),
            (
                "completion_window_secs".to_owned(),
                "completion_window_range"
            ),
        ]
    );
    assert!(errors.to_string().starts_with("12 fields are invalid: "));
}

#[test]
fn once_in_the_past_or_now_is_refused() {
    for at in [now() - Duration::seconds(1), now()] {
        let value =
            json!({"name": "x", "url": "https://e.com", "schedule": {"kind": "once", "at": at}});
        let (field, code, message) = only(value, Tier::Pro);
        assert_eq!((field.as_str(), code), ("schedule.at", "schedule_in_past"));
        assert!(message.contains("not in the future"), "{message}");
    }
}

#[test]
fn free_tier_refuses_sub_hourly_crons_and_says_why() {
    let (field, code, message) = only(cron_draft("*/5 * * * *"), Tier::Free);
    assert_eq!(
        (field.as_str(), code),
        ("schedule", "schedule_interval_below_tier")
    );
    assert_eq!(
        message,
        "this schedule runs as often as every 5 minutes; the Free plan allows schedules at most \
         once per hour; upgrade to Pro for every-minute schedules"
    );
    assert!(validate(&draft(cron_draft("0 * * * *")), Tier::Free, now()).is_ok());
    assert!(validate(&draft(cron_draft("* * * * *")), Tier::Pro, now()).is_ok());
}

#[test]
fn free_tier_judges_the_shortest_gap_not_the_average() {
    // Twice within one hour, then nothing for a day: the 30-minute gap counts.
    let (_, code, _) = only(cron_draft("0,30 9 * * *"), Tier::Free);
    assert_eq!(code, "schedule_interval_below_tier");
}

#[test]
fn schedule_errors_point_at_the_part_that_is_wrong() {
    let (field, code, _) = only(cron_draft("61 * * * *"), Tier::Pro);
    assert_eq!((field.as_str(), code), ("schedule.expr", "schedule_cron"));

    let tz = json!({"kind": "cron", "expr": "@daily", "timezone": "Mars/Olympus"});
    let (field, code, message) = only(with(cron_draft(""), "schedule", tz), Tier::Pro);
    assert_eq!(
        (field.as_str(), code),
        ("schedule.timezone", "schedule_timezone")
    );
    assert!(message.contains("Mars/Olympus"));

    let preset = json!({"kind": "preset", "preset": {"interval": "daily", "hour": 25}});
    let (field, code, _) = only(with(cron_draft(""), "schedule", preset), Tier::Pro);
    assert_eq!(
        (field.as_str(), code),
        ("schedule.preset", "schedule_preset")
    );
}

#[test]
fn get_and_head_cannot_have_a_body() {
    for method in ["GET", "head"] {
        let value = with(
            with(cron_draft("@daily"), "method", json!(method)),
            "body",
            json!("{}"),
        );
        let (field, code, message) = only(value, Tier::Pro);
        assert_eq!((field.as_str(), code), ("body", "body_not_allowed"));
        assert!(message.starts_with(&method.to_uppercase()), "{message}");
    }
    let empty = with(
        with(cron_draft("@daily"), "method", json!("GET")),
        "body",
        json!(""),
    );
    let spec = validate(&draft(empty), Tier::Pro, now()).unwrap();
    assert_eq!((spec.method, spec.body), (HttpMethod::Get, None));
}

#[test]
fn timeout_is_limited_by_tier() {
    let value = with(cron_draft("@daily"), "timeout_secs", json!(60));
    let (field, code, message) = only(value.clone(), Tier::Free);
    assert_eq!(
        (field.as_str(), code),
        ("timeout_secs", "timeout_tier_limit")
    );
    assert!(message.contains("Free plan allows at most 30"), "{message}");
    assert_eq!(
        validate(&draft(value), Tier::Pro, now())
            .unwrap()
            .timeout
            .secs(),
        60
    );
}

#[test]
fn retry_errors_name_the_nested_field() {
    let value = with(
        cron_draft("@daily"),
        "retry",
        json!({"max_attempts": 3, "base_delay_secs": 0, "max_delay_secs": 100000}),
    );
    let errors = errors_of(value, Tier::Pro);
    assert_eq!(
        fields_and_codes(&errors),
        [
            ("retry.base_delay_secs".to_owned(), "retry_base_delay"),
            ("retry.max_delay_secs".to_owned(), "retry_max_delay"),
        ]
    );
}

#[test]
fn cron_jobs_may_opt_in_to_retries() {
    let value = with(cron_draft("@daily"), "retry", json!({"max_attempts": 4}));
    let spec = validate(&draft(value), Tier::Free, now()).unwrap();
    assert_eq!(spec.retry.max_attempts(), 4);
}

#[test]
fn catch_up_cap_out_of_range() {
    let value = with(
        cron_draft("@daily"),
        "catch_up",
        json!({"mode": "run_all", "cap": 500}),
    );
    let (field, code, _) = only(value, Tier::Pro);
    assert_eq!((field.as_str(), code), ("catch_up.cap", "catch_up_cap"));
}

#[test]
fn key_rules_apply_through_the_aggregate() {
    let (field, code, _) = only(with(cron_draft("@daily"), "key", json!("")), Tier::Pro);
    assert_eq!((field.as_str(), code), ("key", "key_empty"));
    let long = "k".repeat(129);
    let (_, code, _) = only(with(cron_draft("@daily"), "key", json!(long)), Tier::Pro);
    assert_eq!(code, "key_too_long");
}

#[test]
fn spec_round_trips_through_its_draft_and_json() {
    let value = json!({
        "name": "Weekly digest",
        "key": "digest",
        "url": "https://example.com/digest",
        "method": "POST",
        "headers": [{"name": "X-B", "value": "2"}, {"name": "X-A", "value": "1"}],
        "body": "{}",
        "timeout_secs": 45,
        "retry": {"max_attempts": 2},
        "catch_up": {"mode": "skip"},
        "overlap": "skip",
        "completion_window_secs": 3600,
        "schedule": {"kind": "preset", "preset": {"interval": "weekly", "weekday": "Mon", "hour": 9},
                     "timezone": "Europe/Oslo"}
    });
    let spec = validate(&draft(value), Tier::Pro, now()).unwrap();
    let json = serde_json::to_value(spec.to_draft()).unwrap();
    assert_eq!(
        json["schedule"]["kind"], "cron",
        "presets are stored as cron: {json}"
    );
    assert_eq!(
        json["headers"][0]["name"], "X-B",
        "header order is kept: {json}"
    );
    let again = validate(&serde_json::from_value(json).unwrap(), Tier::Pro, now()).unwrap();
    assert_eq!(again, spec);
}

#[test]
fn one_time_spec_round_trips_too() {
    let at = now() + Duration::days(3);
    let value = json!({"name": "Once", "url": "http://example.com", "schedule": {"kind": "once", "at": at}});
    let spec = validate(&draft(value), Tier::Free, now()).unwrap();
    let back: JobDraft =
        serde_json::from_str(&serde_json::to_string(&spec.to_draft()).unwrap()).unwrap();
    assert_eq!(validate(&back, Tier::Free, now()).unwrap(), spec);
}

#[test]
fn validation_errors_serialise_for_problem_details() {
    let errors = errors_of(
        with(
            cron_draft("@daily"),
            "url",
            json!("https://u:p@example.com"),
        ),
        Tier::Pro,
    );
    let json = serde_json::to_value(&errors).unwrap();
    assert_eq!(json[0]["field"], "url");
    assert_eq!(json[0]["code"], "url_credentials");
    assert!(
        json[0]["message"]
            .as_str()
            .unwrap()
            .contains("Authorization")
    );
}

#[test]
fn restore_loads_what_validate_would_refuse_only_for_time_or_plan_reasons() {
    // A one-time job whose instant has passed, and a one-minute cron (Pro only), both restore.
    let past = with(
        cron_draft("* * * * *"),
        "schedule",
        json!({"kind": "once", "at": "2020-01-01T00:00:00Z"}),
    );
    let spec = domain::job::restore(&draft(past)).expect("past once job restores");
    assert!(matches!(spec.schedule, Schedule::Once(_)));
    let every_minute = domain::job::restore(&draft(cron_draft("* * * * *"))).expect("minute cron restores");
    assert_eq!(every_minute.interval_minutes, Some(1));
    // Field rules still apply: a stored value that is malformed is reported, not accepted.
    let broken = with(cron_draft("0 * * * *"), "url", json!("ftp://example.com"));
    assert!(domain::job::restore(&draft(broken)).is_err());
}
