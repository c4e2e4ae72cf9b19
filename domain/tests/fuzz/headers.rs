//! Header parsing and validation.
//!
//! Properties: never panics; an accepted list has at most 50 headers, names that are RFC 9110
//! tokens of 1-256 bytes, not refused, not repeated in any case, values of at most 8 KiB with no
//! CR, LF, NUL or other control character but tab, each the trimmed input in the input's order;
//! it serialises and deserialises to itself; a refused list names only fields that exist.

use domain::job::{HeaderInput, HeadersInput, JobHeaders, is_secret_header};
use proptest::prelude::*;

use super::common::{config, corpus, nasty_string};

use domain::sealed::{NONCE_BYTES, SEALED_PREFIX};

/// Longest sealed form of the longest value: prefix, base64url of nonce, ciphertext and the
/// 16-byte tag, `:`, and a hint of at most four characters.
const SEALED_MAX: usize = SEALED_PREFIX.len() + (NONCE_BYTES + JobHeaders::MAX_VALUE_BYTES + 16).div_ceil(3) * 4 + 1 + 16;

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z][A-Za-z0-9-]{0,20}",
        2 => prop::sample::select(vec![
            "Authorization", "authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "X-Auth-Token", "X-Webhook-Secret",
            "Password", "X-Session", "Host", "HOST", "Content-Length", "Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding",
            "Upgrade", "Proxy-Foo", "webhook-id", "Webhook-Timestamp", "WEBHOOK-SIGNATURE", "Content-Type", "X-A", "x-a", "",
            " ", "X Foo", "X:Foo", "X\r\nFoo", "X\nFoo", "X\0", "naïve", "(x)", "X-A ", " X-A", "\tX-A", "!#$%&'*+-.^_`|~",
        ]).prop_map(str::to_owned),
        1 => "[!#$%&'*+.^_`|~0-9a-zA-Z-]{255,258}",
        1 => nasty_string(12),
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[ -~]{0,40}",
        1 => prop::sample::select(vec![
            "", " ", "\t", " Bearer abc\t", "a\r\nX-Injected: 1", "a\nb", "a\rb", "nul\0", "del\u{7f}", "bell\u{7}", "café", "\u{85}",
            "\u{2028}", "v\u{b}", "Bearer sk_live_0123456789abcdef",
        ]).prop_map(str::to_owned),
        1 => (8190usize..8196, any::<bool>()).prop_map(|(n, pad)| if pad { format!(" {} ", "v".repeat(n)) } else { "v".repeat(n) }),
        1 => nasty_string(30).prop_map(|s| format!("{SEALED_PREFIX}{s}")),
        1 => nasty_string(30),
    ]
}

pub fn headers_input() -> impl Strategy<Value = HeadersInput> {
    prop_oneof![
        8 => prop::collection::vec((name(), value()), 0..8),
        1 => prop::collection::vec((name(), value()), 45..56),
    ]
    .prop_map(|pairs| HeadersInput(pairs.into_iter().map(|(name, value)| HeaderInput { name, value }).collect()))
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

const REFUSED: [&str; 11] = ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length", "webhook-id", "webhook-timestamp", "webhook-signature"];

pub fn check_headers(input: &HeadersInput) -> Result<(), TestCaseError> {
    match JobHeaders::parse(input) {
        Ok(headers) => {
            prop_assert!(headers.len() <= JobHeaders::MAX_COUNT);
            prop_assert_eq!(headers.len(), input.0.len());
            let mut seen: Vec<String> = Vec::new();
            for ((name, value), given) in headers.iter().zip(&input.0) {
                prop_assert_eq!(name, given.name.trim());
                prop_assert_eq!(value, given.value.trim_matches([' ', '\t']));
                prop_assert!(!name.is_empty() && name.len() <= JobHeaders::MAX_NAME_BYTES && name.bytes().all(is_token_byte), "accepted name {name:?}");
                let lower = name.to_ascii_lowercase();
                prop_assert!(!REFUSED.contains(&lower.as_str()) && !lower.starts_with("proxy-"), "accepted refused name {name:?}");
                prop_assert!(!seen.contains(&lower), "accepted {name:?} twice");
                seen.push(lower);
                // a credential may come back sealed (see domain::sealed): the prefix is the only
                // control character it may carry
                let plain = if is_secret_header(name) { value.strip_prefix(SEALED_PREFIX).unwrap_or(value) } else { value };
                prop_assert!(!plain.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0 || (b < 0x20 && b != b'\t') || b == 0x7f), "{name}: accepted value {value:?} with a control character");
                let max = if plain.len() == value.len() { JobHeaders::MAX_VALUE_BYTES } else { SEALED_MAX };
                prop_assert!(value.len() <= max, "{name}: accepted a value of {} bytes", value.len());
            }
            let json = serde_json::to_string(&headers).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let back: Result<JobHeaders, _> = serde_json::from_str(&json);
            prop_assert_eq!(back.ok(), Some(headers));
        }
        Err(errors) => {
            prop_assert!(!errors.is_empty());
            for e in &errors {
                let ok = e.field == "headers"
                    || (0..input.0.len()).any(|i| e.field == format!("headers[{i}].name") || e.field == format!("headers[{i}].value"));
                prop_assert!(ok, "error for a field that does not exist: {}", e.field);
                prop_assert!(!e.message.is_empty() && e.code.starts_with("header"));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config("headers", 0.5))]

    #[test]
    fn header_validation_never_panics_and_accepts_only_clean_headers(input in headers_input()) {
        check_headers(&input)?;
    }

    /// Header lists as JSON text (object or array form, or neither) never panic the parser.
    #[test]
    fn header_json_never_panics(input in headers_input(), object in any::<bool>(), cut in any::<prop::sample::Index>(), junk in nasty_string(4)) {
        let json = if object {
            let mut map = serde_json::Map::new();
            for h in &input.0 { map.insert(h.name.clone(), serde_json::Value::String(h.value.clone())); }
            serde_json::Value::Object(map).to_string()
        } else {
            serde_json::to_string(&input).unwrap()
        };
        let at = cut.index(json.len() + 1);
        let mangled = if json.is_char_boundary(at) { format!("{}{junk}{}", &json[..at], &json[at..]) } else { json.clone() };
        for text in [&json, &mangled] {
            if let Ok(parsed) = serde_json::from_str::<HeadersInput>(text) {
                check_headers(&parsed)?;
            }
            let _ = serde_json::from_str::<JobHeaders>(text);
        }
    }
}

/// The seed corpus: one header per line as `name ⇥ value` (tab-separated, escapes decoded),
/// each checked alone and all together.
#[test]
fn header_corpus() {
    let all: Vec<HeaderInput> = corpus("headers.txt")
        .into_iter()
        .map(|line| {
            let (name, value) = line.split_once('\t').unwrap_or((line.as_str(), ""));
            HeaderInput { name: name.to_owned(), value: value.to_owned() }
        })
        .collect();
    for h in &all {
        check_headers(&HeadersInput(vec![h.clone()])).unwrap_or_else(|e| panic!("{h:?}: {e}"));
    }
    check_headers(&HeadersInput(all)).unwrap();
}
