//! Tests of the scalar job fields.

use super::*;

#[test]
fn name_is_trimmed_and_bounded_in_characters() {
    assert_eq!(
        JobName::parse("  Nightly report ").unwrap().as_str(),
        "Nightly report"
    );
    let two_hundred = "é".repeat(200);
    assert_eq!(JobName::parse(&two_hundred).unwrap().as_str(), two_hundred);
}

#[test]
fn name_empty() {
    for name in ["", "   ", "\t\n"] {
        assert_eq!(JobName::parse(name).unwrap_err().code(), "name_empty");
    }
}

#[test]
fn name_too_long() {
    let err = JobName::parse(&"a".repeat(201)).unwrap_err();
    assert_eq!(err, JobNameError::TooLong { len: 201 });
    assert_eq!(err.code(), "name_too_long");
}

#[test]
fn name_control_characters() {
    for name in ["a\nb", "a\tb", "bell\x07", "a\u{85}b"] {
        assert_eq!(
            JobName::parse(name).unwrap_err().code(),
            "name_control_chars",
            "{name:?}"
        );
    }
}

#[test]
fn key_accepts_its_alphabet() {
    let key = "billing.nightly_run-2";
    assert_eq!(JobKey::parse(key).unwrap().as_str(), key);
    assert!(JobKey::parse(&"k".repeat(128)).is_ok());
}

#[test]
fn key_empty() {
    assert_eq!(JobKey::parse("").unwrap_err().code(), "key_empty");
}

#[test]
fn key_too_long() {
    assert_eq!(
        JobKey::parse(&"k".repeat(129)).unwrap_err().code(),
        "key_too_long"
    );
}

#[test]
fn key_invalid_characters() {
    for key in ["has space", "slash/y", "ümlaut", " lead", "a:b"] {
        assert_eq!(
            JobKey::parse(key).unwrap_err().code(),
            "key_invalid_chars",
            "{key:?}"
        );
    }
}

#[test]
fn body_empty_means_none() {
    assert_eq!(JobBody::parse(""), Ok(None));
    assert_eq!(JobBody::parse("{}").unwrap().unwrap().as_bytes(), b"{}");
}

#[test]
fn body_too_large() {
    assert!(JobBody::parse(&"x".repeat(256 * 1024)).is_ok());
    let err = JobBody::parse(&"x".repeat(256 * 1024 + 1)).unwrap_err();
    assert_eq!(err.code(), "body_too_large");
    assert!(err.to_string().contains("256 KiB"));
}

#[test]
fn body_not_allowed_message_names_the_method() {
    let err = JobBodyError::NotAllowed { method: "GET" };
    assert_eq!(err.code(), "body_not_allowed");
    assert!(
        err.to_string()
            .starts_with("GET requests cannot carry a body")
    );
}

#[test]
fn timeout_defaults_to_thirty_seconds_within_every_tier() {
    assert_eq!(TimeoutSecs::default().secs(), 30);
    for tier in Tier::ALL {
        assert!(u32::from(TimeoutSecs::DEFAULT.secs()) <= tier.limits().max_timeout_secs);
        assert!(tier.limits().max_timeout_secs <= u32::from(u16::MAX));
    }
}

#[test]
fn timeout_zero() {
    assert_eq!(
        TimeoutSecs::new(0, Tier::Pro).unwrap_err().code(),
        "timeout_zero"
    );
}

#[test]
fn timeout_above_the_tier_maximum_names_it() {
    assert_eq!(
        TimeoutSecs::new(30, Tier::Free).unwrap().as_duration(),
        Duration::from_secs(30)
    );
    let free = TimeoutSecs::new(31, Tier::Free).unwrap_err();
    assert_eq!(free.code(), "timeout_tier_limit");
    assert_eq!(
        free.to_string(),
        "the timeout is 31 seconds; the Free plan allows at most 30 (Pro allows up to 300)"
    );
    assert!(TimeoutSecs::new(300, Tier::Pro).is_ok());
    let pro = TimeoutSecs::new(301, Tier::Pro).unwrap_err();
    assert_eq!(
        pro.to_string(),
        "the timeout is 301 seconds; at most 300 are allowed"
    );
}

#[test]
fn completion_window_bounds() {
    assert_eq!(CompletionWindow::from_secs(10).unwrap().secs(), 10);
    assert!(CompletionWindow::from_secs(86_400).is_ok());
    for secs in [0, 9, 86_401] {
        let err = CompletionWindow::from_secs(secs).unwrap_err();
        assert_eq!(err.code(), "completion_window_range");
        assert!(err.to_string().contains(&secs.to_string()));
    }
}

#[test]
fn fields_serde_round_trip_and_validate() {
    let name = JobName::parse("Report").unwrap();
    assert_eq!(serde_json::to_string(&name).unwrap(), "\"Report\"");
    assert_eq!(
        serde_json::from_str::<JobName>("\" Report \"").unwrap(),
        name
    );
    assert!(serde_json::from_str::<JobName>("\"\"").is_err());

    assert!(serde_json::from_str::<JobKey>("\"a b\"").is_err());
    assert_eq!(
        serde_json::from_str::<JobKey>("\"a.b\"").unwrap().as_str(),
        "a.b"
    );

    let body = JobBody::parse("{\"a\":1}").unwrap().unwrap();
    let json = serde_json::to_string(&body).unwrap();
    assert_eq!(serde_json::from_str::<JobBody>(&json).unwrap(), body);
    assert!(serde_json::from_str::<JobBody>("\"\"").is_err());

    assert_eq!(serde_json::to_string(&TimeoutSecs::DEFAULT).unwrap(), "30");
    assert_eq!(
        serde_json::from_str::<TimeoutSecs>("300").unwrap().secs(),
        300
    );
    assert!(serde_json::from_str::<TimeoutSecs>("301").is_err());
    assert!(serde_json::from_str::<TimeoutSecs>("0").is_err());

    assert_eq!(
        serde_json::from_str::<CompletionWindow>("60")
            .unwrap()
            .secs(),
        60
    );
    assert!(serde_json::from_str::<CompletionWindow>("5").is_err());
}
