//! Job validation.
//!
//! Properties: deserialising arbitrary JSON into a draft and validating it never panics; an
//! accepted draft comes back from its spec (`to_draft` → JSON → draft → validate) as the same
//! spec, and `restore` gives the same spec too; a refused draft names only known fields, each
//! with a code and a message.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::job::{JobDraft, restore, validate};
use domain::tier::Tier;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::common::{config, corpus, nasty_string};
use super::cron::{any_expression, zone_name};
use super::headers::headers_input;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

/// A JSON value of any shape, small.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        nasty_string(10).prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| prop_oneof![
        prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
        prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3).prop_map(|m| Value::Object(m.into_iter().collect())),
    ])
}

fn maybe<S: Strategy<Value = Value> + 'static>(valid: S) -> BoxedStrategy<Option<Value>> {
    prop_oneof![3 => Just(None), 12 => valid.prop_map(Some), 1 => any_json().prop_map(Some)].boxed()
}

fn schedule() -> impl Strategy<Value = Value> {
    let at = (-400i64..400_000).prop_map(|m| json!((now() + Duration::minutes(m)).to_rfc3339()));
    prop_oneof![
        4 => (any_expression(), prop::option::of(zone_name())).prop_map(|(e, z)| match z { Some(z) => json!({"kind": "cron", "expr": e, "timezone": z}), None => json!({"kind": "cron", "expr": e}) }),
        1 => at.prop_map(|at| json!({"kind": "once", "at": at})),
        1 => (prop::sample::select(vec!["hourly", "daily", "weekly", "yearly"]), 0u32..70, 0u32..30, prop::sample::select(vec!["Mon", "Sunday", "sun", "Funday"]), prop::option::of(zone_name()))
            .prop_map(|(interval, minute, hour, weekday, tz)| {
                let mut preset = json!({"interval": interval, "minute": minute});
                if interval != "hourly" { preset["hour"] = json!(hour); }
                if interval == "weekly" { preset["weekday"] = json!(weekday); }
                let mut s = json!({"kind": "preset", "preset": preset});
                if let Some(tz) = tz { s["timezone"] = json!(tz); }
                s
            }),
    ]
}

/// A draft as JSON: each field left out, plausible (valid or near it), or of any shape.
fn draft_json() -> impl Strategy<Value = Value> {
    let fields = (
        (
            maybe(prop_oneof!["[A-Za-z ]{0,30}", nasty_string(20), "x{199,202}"].prop_map(Value::from)),
            maybe(prop_oneof!["[a-z0-9._-]{0,20}", nasty_string(10), "k{127,130}"].prop_map(Value::from)),
            maybe(prop_oneof![
                4 => "https://[a-z]{1,10}\\.example\\.com/[a-z/]{0,10}",
                2 => prop::sample::select(vec!["", "http://localhost/x", "ftp://x.example/", "https://user:pw@x.example/", "https://x.example/#frag", "https://[::1]/", "https://x.example:99999/", "javascript:alert(1)", "https://ex ample.com/", "https://xn--nxasmq6b.example/", "https://x.example/\r\nHost: evil"]).prop_map(str::to_owned),
                1 => nasty_string(30),
            ].prop_map(Value::from)),
            maybe(prop::sample::select(vec!["GET", "post", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "", "G ET"]).prop_map(Value::from)),
            maybe(headers_input().prop_map(|h| serde_json::to_value(h).unwrap())),
            maybe(prop_oneof![Just(String::new()), "[ -~]{0,50}", nasty_string(20)].prop_map(Value::from)),
            maybe(prop_oneof![0u32..400, Just(u32::MAX)].prop_map(Value::from)),
        ),
        (
            maybe(any::<bool>().prop_map(Value::from)),
            maybe((0u32..14, prop::option::of(0u32..100_000), prop::option::of(0u32..200_000)).prop_map(|(a, b, m)| json!({"max_attempts": a, "base_delay_secs": b, "max_delay_secs": m}))),
            maybe((prop::sample::select(vec!["run_once", "run_all", "skip", "never"]), prop::option::of(0u32..70_000)).prop_map(|(mode, cap)| match cap { Some(c) => json!({"mode": mode, "cap": c}), None => json!({"mode": mode}) })),
            maybe(prop::sample::select(vec!["allow", "skip", "queue"]).prop_map(Value::from)),
            maybe(prop_oneof![0u32..100_000, Just(u32::MAX)].prop_map(Value::from)),
            maybe((prop::option::of(any::<bool>()), prop::option::of(prop::collection::vec(prop_oneof!["[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", nasty_string(10)], 0..4)))
                .prop_map(|(mute, channels)| {
                    let mut n = json!({});
                    if let Some(m) = mute {
                        n["mute"] = json!(m);
                    }
                    if let Some(c) = channels {
                        n["channels"] = json!(c);
                    }
                    n
                })),
            maybe(schedule()),
            prop::option::weighted(0.1, ("[a-z]{1,8}", any_json())),
        ),
    );
    fields.prop_map(|((name, key, url, method, headers, body, timeout), (enabled, retry, catch_up, overlap, window, notifications, schedule, extra))| {
        let mut draft = serde_json::Map::new();
        for (k, v) in [("name", name), ("key", key), ("url", url), ("method", method), ("headers", headers), ("body", body), ("timeout_secs", timeout), ("enabled", enabled), ("retry", retry), ("catch_up", catch_up), ("overlap", overlap), ("completion_window_secs", window), ("notifications", notifications), ("schedule", schedule)] {
            if let Some(v) = v { draft.insert(k.to_owned(), v); }
        }
        if let Some((k, v)) = extra { draft.insert(k, v); }
        Value::Object(draft)
    })
}

const FIELDS: [&str; 14] = ["name", "key", "url", "method", "headers", "body", "timeout_secs", "retry", "catch_up", "completion_window_secs", "notifications", "schedule", "enabled", "overlap"];

fn check_draft_text(text: &str, tier: Tier, now: DateTime<Utc>) -> Result<bool, TestCaseError> {
    let Ok(draft) = serde_json::from_str::<JobDraft>(text) else { return Ok(false) };
    check_draft(&draft, tier, now)
}

/// Returns whether the draft was accepted.
fn check_draft(draft: &JobDraft, tier: Tier, now: DateTime<Utc>) -> Result<bool, TestCaseError> {
    match validate(draft, tier, now) {
        Ok(spec) => {
            let again = spec.to_draft();
            let json = serde_json::to_string(&again).map_err(|e| TestCaseError::fail(format!("to_draft does not serialise: {e}")))?;
            let back: JobDraft = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{json} does not deserialise: {e}")))?;
            prop_assert_eq!(&back, &again, "JSON round trip of the draft");
            let revalidated = validate(&back, tier, now);
            prop_assert_eq!(revalidated.as_ref().ok(), Some(&spec), "{} validated back differently: {:?}", json, revalidated.as_ref().err());
            let restored = restore(&back);
            prop_assert_eq!(restored.as_ref().ok(), Some(&spec), "restore of {} differs: {:?}", json, restored.as_ref().err());
            if let Some(interval) = spec.interval_minutes {
                prop_assert!(interval >= tier.limits().min_interval_minutes);
            }
            Ok(true)
        }
        Err(errors) => {
            prop_assert!(!errors.is_empty());
            for e in errors.iter() {
                let root = e.field.split(['.', '[']).next().unwrap_or("");
                prop_assert!(FIELDS.contains(&root), "error on unknown field {:?}", e.field);
                prop_assert!(!e.code.is_empty() && !e.message.is_empty());
            }
            Ok(false)
        }
    }
}

proptest! {
    #![proptest_config(config("job", 1.0))]

    /// Also: every problem is reported at once. Dropping each field that has an error (or, for a
    /// required one, putting a plain valid value in its place) leaves a draft that is accepted,
    /// which then round-trips; most accepted drafts come from this repair.
    #[test]
    fn job_validation_never_panics_and_accepted_drafts_round_trip(draft in draft_json(), pro in any::<bool>(), ahead in -10i64..10) {
        let tier = if pro { Tier::Pro } else { Tier::Free };
        let now = now() + Duration::days(ahead);
        let Ok(parsed) = serde_json::from_str::<JobDraft>(&draft.to_string()) else { return Ok(()) };
        if check_draft(&parsed, tier, now)? {
            return Ok(());
        }
        let errors = validate(&parsed, tier, now).unwrap_err();
        let mut repaired = draft.as_object().cloned().unwrap_or_default();
        for e in errors.iter() {
            let root = e.field.split(['.', '[']).next().unwrap_or("");
            match root {
                "name" => { repaired.insert("name".into(), json!("Job")); }
                "url" => { repaired.insert("url".into(), json!("https://example.com/")); }
                "schedule" => { repaired.insert("schedule".into(), json!({"kind": "cron", "expr": "0 * * * *"})); }
                other => { repaired.remove(other); }
            }
        }
        let text = Value::Object(repaired).to_string();
        let accepted = check_draft_text(&text, tier, now)?;
        prop_assert!(accepted, "{} still refused after dropping every field with an error ({}): {:?}", text, errors, serde_json::from_str::<JobDraft>(&text).map(|d| validate(&d, tier, now).err()));
    }

    /// Draft JSON text with bytes inserted, removed or replaced never panics anything.
    #[test]
    fn mangled_draft_text_never_panics(draft in draft_json(), edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..4)) {
        let mut bytes = draft.to_string().into_bytes();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 => bytes.insert(i, byte),
                1 if i < bytes.len() => { bytes.remove(i); }
                _ if i < bytes.len() => bytes[i] = byte,
                _ => {}
            }
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            check_draft_text(text, Tier::Pro, now())?;
        }
    }
}

/// The seed corpus: one draft as JSON per line, validated on both tiers.
#[test]
fn job_corpus() {
    let mut accepted = 0;
    for line in corpus("drafts.jsonl") {
        for tier in [Tier::Free, Tier::Pro] {
            if check_draft_text(&line, tier, now()).unwrap_or_else(|e| panic!("{line}: {e}")) {
                accepted += 1;
            }
        }
    }
    assert!(accepted > 0, "the corpus should hold drafts that are accepted");
}
