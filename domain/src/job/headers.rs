//! The custom request headers of a job.
//!
//! Input is either a JSON object (`{"Authorization": "Bearer …"}`) or an array of
//! `{"name": …, "value": …}`; both keep the order written. Output is always the array form,
//! because it survives storage in Postgres `jsonb` (which reorders object keys).
//!
//! Rules:
//! - at most 50 headers;
//! - names are RFC 9110 tokens of at most 256 bytes; their case is kept as written;
//! - values are at most 8 KiB of visible ASCII, spaces, tabs and non-ASCII (obs-text) bytes —
//!   no CR, LF, NUL or other control characters; surrounding spaces and tabs are trimmed, as
//!   HTTP itself does;
//! - refused names: hop-by-hop and framing headers the HTTP client owns (`Connection`,
//!   `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`, `Host`,
//!   `Content-Length`) and the Standard Webhooks headers Prikke sets and signs (`webhook-id`,
//!   `webhook-timestamp`, `webhook-signature`);
//! - **no duplicates**, compared case-insensitively. HTTP lets a list-valued header be sent
//!   once with comma-separated values, which means the same to every receiver, whereas repeated
//!   lines are handled inconsistently by frameworks (first wins, last wins, or joined). One
//!   line per name keeps what the receiver sees unambiguous.

use std::fmt;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::field_error::{ErrorCode, FieldError};

/// One header as written by the user, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderInput {
    pub name: String,
    pub value: String,
}

/// Headers as written by the user: a JSON object or an array of `{name, value}`, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct HeadersInput(pub Vec<HeaderInput>);

/// Validated job headers, in the order written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobHeaders(Vec<(String, String)>);

/// Why a header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("{count} headers given; at most {max} are allowed", max = JobHeaders::MAX_COUNT)]
    TooMany { count: usize },
    #[error("the header name is empty")]
    NameEmpty,
    #[error("the header name is {len} bytes long; at most {max} are allowed", max = JobHeaders::MAX_NAME_BYTES)]
    NameTooLong { len: usize },
    #[error("\"{name}\" is not a valid header name; use letters, digits and !#$%&'*+-.^_`|~ only")]
    NameInvalid { name: String },
    #[error("the {name} header cannot be set: {why}")]
    NameForbidden { name: String, why: &'static str },
    #[error(
        "the {name} header is given more than once; send one header with comma-separated values instead"
    )]
    Duplicate { name: String },
    #[error("the value of {name} is {len} bytes long; at most {max} are allowed", max = JobHeaders::MAX_VALUE_BYTES)]
    ValueTooLong { name: String, len: usize },
    #[error(
        "the value of {name} contains a control character (such as a line break); only printable characters, spaces and tabs are allowed"
    )]
    ValueInvalid { name: String },
}

impl ErrorCode for HeaderError {
    fn code(&self) -> &'static str {
        match self {
            HeaderError::TooMany { .. } => "headers_too_many",
            HeaderError::NameEmpty => "header_name_empty",
            HeaderError::NameTooLong { .. } => "header_name_too_long",
            HeaderError::NameInvalid { .. } => "header_name_invalid",
            HeaderError::NameForbidden { .. } => "header_name_forbidden",
            HeaderError::Duplicate { .. } => "header_duplicate",
            HeaderError::ValueTooLong { .. } => "header_value_too_long",
            HeaderError::ValueInvalid { .. } => "header_value_invalid",
        }
    }
}

const HOP_BY_HOP: &str = "it is managed by the HTTP connection, not by the request";
const FRAMING: &str = "it is computed from the request itself";
const SIGNING: &str = "Prikke sets and signs it on every request (Standard Webhooks)";

/// Why a (lower-cased) header name is refused, if it is.
fn forbidden_reason(lower: &str) -> Option<&'static str> {
    match lower {
        "connection" | "keep-alive" | "te" | "trailer" | "transfer-encoding" | "upgrade" => {
            Some(HOP_BY_HOP)
        }
        "host" | "content-length" => Some(FRAMING),
        "webhook-id" | "webhook-timestamp" | "webhook-signature" => Some(SIGNING),
        _ if lower.starts_with("proxy-") => Some(HOP_BY_HOP),
        _ => None,
    }
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 field-value bytes: VCHAR, SP, HTAB, obs-text.
fn is_value_byte(b: u8) -> bool {
    matches!(b, b'\t' | b' '..=b'~' | 0x80..=0xff)
}

impl JobHeaders {
    pub const MAX_COUNT: usize = 50;
    pub const MAX_NAME_BYTES: usize = 256;
    pub const MAX_VALUE_BYTES: usize = 8 * 1024;

    /// Validates every header, reporting each problem under `headers[i].name` / `.value`
    /// (or `headers` for the count).
    pub fn parse(input: &HeadersInput) -> Result<Self, Vec<FieldError>> {
        let entries = &input.0;
        let mut errors = Vec::new();
        if entries.len() > Self::MAX_COUNT {
            let e = HeaderError::TooMany {
                count: entries.len(),
            };
            return Err(vec![FieldError::from_error("headers", &e)]);
        }
        let mut seen: Vec<String> = Vec::with_capacity(entries.len());
        let mut valid = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let name = entry.name.trim();
            match check_name(name, &seen) {
                Ok(lower) => seen.push(lower),
                Err(e) => errors.push(FieldError::from_error(format!("headers[{i}].name"), &e)),
            }
            let value = entry.value.trim_matches([' ', '\t']);
            if let Err(e) = check_value(name, value) {
                errors.push(FieldError::from_error(format!("headers[{i}].value"), &e));
            }
            valid.push((name.to_owned(), value.to_owned()));
        }
        if errors.is_empty() {
            Ok(JobHeaders(valid))
        } else {
            Err(errors)
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Seals every credential's value not sealed yet: `seal` gets the header's name, its plain
    /// value and the hint its mask shows (see [`crate::sealed`]).
    pub fn seal_secrets(&mut self, seal: impl FnMut(&str, &str, &str) -> String) {
        seal_secret_values(&mut self.0, seal);
    }

    /// The value of `name`, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Back to the input form (for editing, duplicating and diffing).
    pub fn to_input(&self) -> HeadersInput {
        HeadersInput(
            self.iter()
                .map(|(name, value)| HeaderInput {
                    name: name.to_owned(),
                    value: value.to_owned(),
                })
                .collect(),
        )
    }
}

fn check_name(name: &str, seen: &[String]) -> Result<String, HeaderError> {
    if name.is_empty() {
        return Err(HeaderError::NameEmpty);
    }
    if name.len() > JobHeaders::MAX_NAME_BYTES {
        return Err(HeaderError::NameTooLong { len: name.len() });
    }
    if !name.bytes().all(is_token_byte) {
        return Err(HeaderError::NameInvalid {
            name: name.to_owned(),
        });
    }
    let lower = name.to_ascii_lowercase();
    if let Some(why) = forbidden_reason(&lower) {
        return Err(HeaderError::NameForbidden {
            name: name.to_owned(),
            why,
        });
    }
    if seen.contains(&lower) {
        return Err(HeaderError::Duplicate {
            name: name.to_owned(),
        });
    }
    Ok(lower)
}

/// Longest sealed form of a credential (see [`crate::sealed`]): the prefix, base64url of nonce,
/// ciphertext of the longest value and its 16-byte tag, `:`, and a hint of four characters.
const MAX_SEALED_VALUE_BYTES: usize = crate::sealed::SEALED_PREFIX.len()
    + (crate::sealed::NONCE_BYTES + JobHeaders::MAX_VALUE_BYTES + 16).div_ceil(3) * 4
    + 1
    + 4 * 4;

fn check_value(name: &str, value: &str) -> Result<(), HeaderError> {
    // A credential sealed at rest (a stored job read back, or a masked value written back). Its
    // prefix is the one control character allowed; the rest is held to the same bytes, or a
    // value written in that form (JSON can spell "\u0001sealed:v1:…") would smuggle CR, LF or
    // NUL past this check, at any length.
    let (checked, max) = match value.strip_prefix(crate::sealed::SEALED_PREFIX) {
        Some(rest) if is_secret_header(name) => (rest, MAX_SEALED_VALUE_BYTES - crate::sealed::SEALED_PREFIX.len()),
        _ => (value, JobHeaders::MAX_VALUE_BYTES),
    };
    let display_name = || {
        if name.is_empty() || name.len() > JobHeaders::MAX_NAME_BYTES {
            "this header".to_owned()
        } else {
            name.to_owned()
        }
    };
    if checked.len() > max {
        return Err(HeaderError::ValueTooLong {
            name: display_name(),
            len: value.len(),
        });
    }
    if !checked.bytes().all(is_value_byte) {
        return Err(HeaderError::ValueInvalid {
            name: display_name(),
        });
    }
    Ok(())
}

impl Serialize for JobHeaders {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_input().serialize(s)
    }
}

impl<'de> Deserialize<'de> for JobHeaders {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let input = HeadersInput::deserialize(d)?;
        JobHeaders::parse(&input).map_err(|errors| {
            let first = errors.first().map(ToString::to_string).unwrap_or_default();
            serde::de::Error::custom(first)
        })
    }
}

impl<'de> Deserialize<'de> for HeadersInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(HeadersVisitor)
    }
}

struct HeadersVisitor;

impl<'de> Visitor<'de> for HeadersVisitor {
    type Value = HeadersInput;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            r#"an object of header names to string values, or an array of {"name", "value"}"#,
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(JobHeaders::MAX_COUNT));
        while let Some((name, value)) = map.next_entry::<String, String>()? {
            out.push(HeaderInput { name, value });
        }
        Ok(HeadersInput(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(JobHeaders::MAX_COUNT));
        while let Some(entry) = seq.next_element::<HeaderInput>()? {
            out.push(entry);
        }
        Ok(HeadersInput(out))
    }
}

/// True for a header whose value is a credential by its name (`Authorization`, `Cookie`,
/// `X-Api-Key`, anything naming a token, secret, password, key, signature or auth). Such values
/// are never shown back: the API and the web app show [`mask`] instead.
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(name.as_str(), "authorization" | "proxy-authorization" | "cookie" | "set-cookie")
        || ["token", "secret", "password", "passwd", "key", "signature", "auth", "session", "credential"]
            .iter()
            .any(|word| name.contains(word))
}

/// What is shown instead of a secret header value: stars, and the last four characters of a long
/// value (so two keys can be told apart), never enough to use it.
pub fn mask(value: &str) -> String {
    // a sealed value carries the hint its plain text would show
    if let Some(hint) = crate::sealed::hint(value) {
        return format!("{MASK_PREFIX}{hint}");
    }
    let chars: Vec<char> = value.chars().collect();
    if chars.len() >= 16 {
        format!("{MASK_PREFIX}{}", chars[chars.len() - 4..].iter().collect::<String>())
    } else {
        MASK_PREFIX.to_owned()
    }
}

/// How every masked value starts.
pub const MASK_PREFIX: &str = "********";

/// A header's value as shown to people: masked when the header is a credential.
pub fn shown_value(name: &str, value: &str) -> String {
    if is_secret_header(name) { mask(value) } else { value.to_owned() }
}

/// Headers as shown to people: secret values masked.
pub fn shown(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers.iter().map(|(n, v)| (n.clone(), shown_value(n, v))).collect()
}

/// Seals the value of every credential header in `headers` not sealed yet, as
/// [`JobHeaders::seal_secrets`] does (for headers stored outside a job, e.g. a queued call's).
pub fn seal_secret_values(headers: &mut [(String, String)], mut seal: impl FnMut(&str, &str, &str) -> String) {
    for (name, value) in headers {
        if is_secret_header(name) && !crate::sealed::is_sealed(value) {
            let shown = mask(value);
            *value = seal(name, value, &shown[MASK_PREFIX.len()..]);
        }
    }
}

/// Puts the stored value back wherever `input` repeats the masked value of a secret header it
/// already has (a job read, edited and written back must not overwrite its secret with stars).
pub fn unmask(input: &mut HeadersInput, stored: &[(String, String)]) {
    for header in &mut input.0 {
        if !header.value.starts_with(MASK_PREFIX) {
            continue;
        }
        if let Some((_, old)) = stored.iter().find(|(n, _)| n.eq_ignore_ascii_case(&header.name)) {
            if is_secret_header(&header.name) && header.value == mask(old) {
                header.value = old.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, &str)]) -> HeadersInput {
        HeadersInput(
            pairs
                .iter()
                .map(|(n, v)| HeaderInput {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
        )
    }

    fn errors(pairs: &[(&str, &str)]) -> Vec<(String, &'static str)> {
        JobHeaders::parse(&input(pairs))
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn accepts_ordinary_headers_in_order_and_trims() {
        let h = JobHeaders::parse(&input(&[
            ("Authorization", " Bearer abc\t"),
            ("X-Empty", ""),
            ("X-Note", "café"),
        ]))
        .unwrap();
        let got: Vec<_> = h.iter().collect();
        assert_eq!(
            got,
            [
                ("Authorization", "Bearer abc"),
                ("X-Empty", ""),
                ("X-Note", "café")
            ]
        );
        assert_eq!(h.get("authorization"), Some("Bearer abc"));
    }

    #[test]
    fn too_many_headers() {
        let pairs: Vec<(String, String)> =
            (0..51).map(|i| (format!("X-H{i}"), "v".into())).collect();
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(errors(&refs), [("headers".to_owned(), "headers_too_many")]);
        assert!(JobHeaders::parse(&input(&refs[..50])).is_ok());
    }

    #[test]
    fn empty_names() {
        assert_eq!(
            errors(&[("ok", "1"), (" ", "v")]),
            [("headers[1].name".to_owned(), "header_name_empty")]
        );
    }

    #[test]
    fn overlong_names() {
        let name = "x".repeat(257);
        assert_eq!(errors(&[(&name, "v")])[0].1, "header_name_too_long");
        assert!(JobHeaders::parse(&input(&[(&"x".repeat(256), "v")])).is_ok());
    }

    #[test]
    fn names_that_are_not_tokens() {
        for name in ["X Foo", "X:Foo", "X\nFoo", "(x)", "naïve"] {
            assert_eq!(
                errors(&[(name, "v")])[0].1,
                "header_name_invalid",
                "{name:?}"
            );
        }
    }

    #[test]
    fn forbidden_names_in_any_case() {
        for name in [
            "Connection",
            "keep-alive",
            "Proxy-Authorization",
            "proxy-connection",
            "TE",
            "Trailer",
            "Transfer-Encoding",
            "Upgrade",
            "HOST",
            "content-length",
            "Webhook-Id",
            "webhook-timestamp",
            "WEBHOOK-SIGNATURE",
        ] {
            let errs = JobHeaders::parse(&input(&[(name, "v")])).unwrap_err();
            assert_eq!(errs[0].code, "header_name_forbidden", "{name}");
            assert!(errs[0].message.contains(name));
        }
        let sig = &JobHeaders::parse(&input(&[("webhook-id", "x")])).unwrap_err()[0];
        assert!(sig.message.contains("signs"));
    }

    #[test]
    fn duplicates_are_rejected_case_insensitively() {
        assert_eq!(
            errors(&[("X-A", "1"), ("x-a", "2")]),
            [("headers[1].name".to_owned(), "header_duplicate")]
        );
    }

    #[test]
    fn overlong_values() {
        let big = "v".repeat(8 * 1024 + 1);
        assert_eq!(
            errors(&[("X-Big", &big)]),
            [("headers[0].value".to_owned(), "header_value_too_long")]
        );
        assert!(JobHeaders::parse(&input(&[("X-Big", &"v".repeat(8 * 1024))])).is_ok());
    }

    #[test]
    fn values_with_control_characters() {
        for value in ["a\r\nX-Injected: 1", "a\nb", "nul\0", "del\x7f", "bell\x07"] {
            let errs = errors(&[("X-A", value)]);
            assert_eq!(
                errs,
                [("headers[0].value".to_owned(), "header_value_invalid")],
                "{value:?}"
            );
        }
    }

    #[test]
    fn reports_every_bad_header_not_just_the_first() {
        let errs = errors(&[
            ("Host", "x"),
            ("ok", "a\nb"),
            ("bad name", "v"),
            ("ok", "1"),
        ]);
        let codes: Vec<_> = errs.iter().map(|(f, c)| (f.as_str(), *c)).collect();
        assert_eq!(
            codes,
            [
                ("headers[0].name", "header_name_forbidden"),
                ("headers[1].value", "header_value_invalid"),
                ("headers[2].name", "header_name_invalid"),
                ("headers[3].name", "header_duplicate"),
            ]
        );
    }

    #[test]
    fn input_accepts_object_or_array_keeping_order() {
        let from_object: HeadersInput =
            serde_json::from_str(r#"{"Zeta":"1","Alpha":"2"}"#).unwrap();
        let from_array: HeadersInput =
            serde_json::from_str(r#"[{"name":"Zeta","value":"1"},{"name":"Alpha","value":"2"}]"#)
                .unwrap();
        assert_eq!(from_object, from_array);
        assert_eq!(from_object.0[0].name, "Zeta");
        assert!(serde_json::from_str::<HeadersInput>(r#"{"X":1}"#).is_err());
        assert!(serde_json::from_str::<HeadersInput>(r#""X: 1""#).is_err());
    }

    #[test]
    fn object_input_with_repeated_keys_is_a_duplicate_error() {
        let input: HeadersInput = serde_json::from_str(r#"{"X-A":"1","X-A":"2"}"#).unwrap();
        assert_eq!(
            JobHeaders::parse(&input).unwrap_err()[0].code,
            "header_duplicate"
        );
    }

    #[test]
    fn validated_headers_serialise_as_an_array_and_round_trip() {
        let h = JobHeaders::parse(&input(&[("B", "2"), ("A", "1")])).unwrap();
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(
            json,
            r#"[{"name":"B","value":"2"},{"name":"A","value":"1"}]"#
        );
        assert_eq!(serde_json::from_str::<JobHeaders>(&json).unwrap(), h);
        assert!(serde_json::from_str::<JobHeaders>(r#"{"Host":"x"}"#).is_err());
    }
}

#[cfg(test)]
mod masking_tests {
    use super::*;

    /// Found by the header fuzz target (tests/fuzz/headers.rs): a value starting with the sealed
    /// prefix skipped every check, so `"\u0001sealed:v1:x\r\nX-Evil: 1"` was accepted.
    #[test]
    fn a_value_in_sealed_form_is_still_checked() {
        let key = crate::sealed::Key::from_bytes([7; 32]);
        let longest = "s".repeat(JobHeaders::MAX_VALUE_BYTES);
        let real = crate::sealed::seal(&key, [1; crate::sealed::NONCE_BYTES], &longest, &mask(&longest)[MASK_PREFIX.len()..]);
        let real_utf8 = crate::sealed::seal(&key, [1; crate::sealed::NONCE_BYTES], "ééééééééééééééééé", "éééé");
        assert!(JobHeaders::parse(&HeadersInput(vec![HeaderInput { name: "Authorization".into(), value: real.clone() }])).is_ok(), "a real sealed value of the longest value is kept");
        assert!(JobHeaders::parse(&HeadersInput(vec![HeaderInput { name: "X-Api-Key".into(), value: real_utf8.clone() }])).is_ok());
        let prefix = crate::sealed::SEALED_PREFIX;
        for (value, code) in [
            (format!("{prefix}x\r\nX-Evil: 1"), "header_value_invalid"),
            (format!("{prefix}\0"), "header_value_invalid"),
            (format!("{prefix}\u{1}"), "header_value_invalid"),
            (format!("{prefix}{}", "A".repeat(MAX_SEALED_VALUE_BYTES - prefix.len() + 1)), "header_value_too_long"),
            (format!("{prefix}{}", "A".repeat(100_000)), "header_value_too_long"),
        ] {
            let errors = JobHeaders::parse(&HeadersInput(vec![HeaderInput { name: "Authorization".into(), value: value.clone() }])).unwrap_err();
            assert_eq!(errors[0].code, code, "{value:?}");
        }
        // not a credential: the sealed form means nothing there, and its control character is refused
        let plain = JobHeaders::parse(&HeadersInput(vec![HeaderInput { name: "X-Job".into(), value: real_utf8 }])).unwrap_err();
        assert_eq!(plain[0].code, "header_value_invalid");
    }

    #[test]
    fn credentials_are_masked_and_written_back_unchanged() {
        for name in ["Authorization", "X-Api-Key", "x-auth-token", "Cookie", "X-Webhook-Secret", "password"] {
            assert!(is_secret_header(name), "{name}");
        }
        for name in ["Content-Type", "X-Job", "Accept", "User-Agent"] {
            assert!(!is_secret_header(name), "{name}");
        }
        let stored = vec![("Authorization".to_owned(), "Bearer sk_live_0123456789abcdef".to_owned()), ("X-Job".to_owned(), "nightly".to_owned())];
        let shown = shown(&stored);
        assert_eq!(shown[0].1, "********cdef");
        assert_eq!(shown[1].1, "nightly");
        assert_eq!(mask("short"), "********");
        let mut input = HeadersInput(shown.iter().map(|(n, v)| HeaderInput { name: n.clone(), value: v.clone() }).collect());
        unmask(&mut input, &stored);
        assert_eq!(input.0[0].value, "Bearer sk_live_0123456789abcdef", "the stored secret is kept");
        let mut changed = HeadersInput(vec![HeaderInput { name: "authorization".into(), value: "Bearer new".into() }]);
        unmask(&mut changed, &stored);
        assert_eq!(changed.0[0].value, "Bearer new", "a new value is taken as given");
        let mut other = HeadersInput(vec![HeaderInput { name: "X-Api-Key".into(), value: "********cdef".into() }]);
        unmask(&mut other, &stored);
        assert_eq!(other.0[0].value, "********cdef", "only the same header's mask stands for its value");
    }
}
