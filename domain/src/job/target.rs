//! Where and how a job calls: the target URL and the HTTP method.
//!
//! The URL is checked for shape only. Whether its host resolves to a private, loopback,
//! link-local or metadata address is decided by the dispatcher's SSRF guard at connection time
//! (DNS can change between now and then), so `http://10.0.0.1/` is a valid `TargetUrl`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use super::field_error::ErrorCode;

/// An absolute `http`/`https` URL with a host, without credentials or fragment, at most 2048
/// characters in its normalised form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetUrl(Url);

/// Why a URL cannot be a job target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetUrlError {
    #[error("a URL is required")]
    Empty,
    #[error("the URL is {len} characters long; at most {max} are allowed", max = TargetUrl::MAX_LEN)]
    TooLong { len: usize },
    #[error(
        "not a valid absolute URL ({reason}); write it in full, e.g. https://example.com/hooks/nightly"
    )]
    Invalid { reason: String },
    #[error("the URL scheme is \"{scheme}\"; only http and https are allowed")]
    Scheme { scheme: String },
    #[error(
        "the URL contains a username or password; put credentials in a header such as Authorization instead"
    )]
    Credentials,
    #[error("the URL contains a #fragment, which is never sent to the server; remove it")]
    Fragment,
}

impl ErrorCode for TargetUrlError {
    fn code(&self) -> &'static str {
        match self {
            TargetUrlError::Empty => "url_required",
            TargetUrlError::TooLong { .. } => "url_too_long",
            TargetUrlError::Invalid { .. } => "url_invalid",
            TargetUrlError::Scheme { .. } => "url_scheme",
            TargetUrlError::Credentials => "url_credentials",
            TargetUrlError::Fragment => "url_fragment",
        }
    }
}

impl TargetUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(input: &str) -> Result<Self, TargetUrlError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(TargetUrlError::Empty);
        }
        // Refuse before parsing so a megabyte of input costs nothing.
        let len = trimmed.chars().count();
        if len > Self::MAX_LEN {
            return Err(TargetUrlError::TooLong { len });
        }
        let url = Url::parse(trimmed).map_err(|e| TargetUrlError::Invalid {
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(TargetUrlError::Scheme {
                scheme: url.scheme().to_owned(),
            });
        }
        // The url crate already refuses http(s) URLs without a host; keep the rule explicit.
        if url.host_str().is_none_or(str::is_empty) {
            return Err(TargetUrlError::Invalid {
                reason: "no host".to_owned(),
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetUrlError::Credentials);
        }
        if url.fragment().is_some() {
            return Err(TargetUrlError::Fragment);
        }
        // Normalisation (percent-encoding, punycode) can lengthen the URL.
        let len = url.as_str().len();
        if len > Self::MAX_LEN {
            return Err(TargetUrlError::TooLong { len });
        }
        Ok(TargetUrl(url))
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }
}

impl fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl Serialize for TargetUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TargetUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        TargetUrl::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The HTTP methods a job may use. Serialised in upper case; parsed case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
}

/// A method outside GET, POST, PUT, PATCH, DELETE, HEAD.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported HTTP method \"{0}\"; use GET, POST, PUT, PATCH, DELETE or HEAD")]
pub struct HttpMethodError(pub String);

impl ErrorCode for HttpMethodError {
    fn code(&self) -> &'static str {
        "method_invalid"
    }
}

impl HttpMethod {
    pub const ALL: [HttpMethod; 6] = [
        HttpMethod::Get,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Patch,
        HttpMethod::Delete,
        HttpMethod::Head,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Head => "HEAD",
        }
    }

    /// Whether a request body may be configured (not for GET and HEAD; see [`super::JobBody`]).
    pub const fn allows_body(self) -> bool {
        !matches!(self, HttpMethod::Get | HttpMethod::Head)
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HttpMethod {
    type Err = HttpMethodError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HttpMethod::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| HttpMethodError(s.to_owned()))
    }
}

/// Rows carry the method as text.
impl TryFrom<String> for HttpMethod {
    type Error = HttpMethodError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl Serialize for HttpMethod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for HttpMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(input: &str) -> &'static str {
        TargetUrl::parse(input).unwrap_err().code()
    }

    #[test]
    fn accepts_and_normalises_http_and_https() {
        let url = TargetUrl::parse("  HTTPS://Example.COM/hooks?a=1 ").unwrap();
        assert_eq!(url.as_str(), "https://example.com/hooks?a=1");
        assert!(url.is_https());
        assert!(!TargetUrl::parse("http://10.0.0.1:8080").unwrap().is_https());
        assert_eq!(
            TargetUrl::parse("http://bücher.example/").unwrap().as_str(),
            "http://xn--bcher-kva.example/"
        );
    }

    #[test]
    fn rejects_empty() {
        assert_eq!(code(""), "url_required");
        assert_eq!(code("   "), "url_required");
    }

    #[test]
    fn rejects_too_long_raw_and_normalised() {
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert_eq!(code(&long), "url_too_long");
        // 1000 spaces become 3000 characters of %20 once normalised.
        let expands = format!("https://example.com/{}x", " ".repeat(1000));
        let err = TargetUrl::parse(&expands).unwrap_err();
        assert_eq!(err.code(), "url_too_long");
        assert!(err.to_string().contains("at most 2048"));
    }

    #[test]
    fn rejects_unparseable_and_relative() {
        assert_eq!(code("/hooks/nightly"), "url_invalid");
        assert_eq!(code("example.com/x"), "url_invalid");
        assert_eq!(code("https://exa mple.com"), "url_invalid");
        assert!(
            TargetUrl::parse("/x")
                .unwrap_err()
                .to_string()
                .contains("https://example.com")
        );
    }

    #[test]
    fn rejects_other_schemes() {
        for u in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "ws://example.com",
        ] {
            assert_eq!(code(u), "url_scheme", "{u}");
        }
        assert!(
            TargetUrl::parse("ftp://x.y")
                .unwrap_err()
                .to_string()
                .contains("\"ftp\"")
        );
    }

    #[test]
    fn rejects_credentials() {
        assert_eq!(code("https://user:pw@example.com/"), "url_credentials");
        assert_eq!(code("https://user@example.com/"), "url_credentials");
        assert_eq!(code("https://:pw@example.com/"), "url_credentials");
    }

    #[test]
    fn rejects_fragments() {
        assert_eq!(code("https://example.com/#top"), "url_fragment");
        assert_eq!(code("https://example.com/#"), "url_fragment");
    }

    #[test]
    fn missing_hosts_are_invalid() {
        assert_eq!(code("http://"), "url_invalid");
        assert_eq!(code("https://:443/x"), "url_invalid");
        // WHATWG parsing reads the first path segment as the host here.
        assert_eq!(
            TargetUrl::parse("http:///path").unwrap().as_str(),
            "http://path/"
        );
    }

    #[test]
    fn url_serde_round_trips_and_validates() {
        let url = TargetUrl::parse("https://example.com/a").unwrap();
        let json = serde_json::to_string(&url).unwrap();
        assert_eq!(json, "\"https://example.com/a\"");
        assert_eq!(serde_json::from_str::<TargetUrl>(&json).unwrap(), url);
        assert!(serde_json::from_str::<TargetUrl>("\"ftp://x\"").is_err());
    }

    #[test]
    fn methods_parse_case_insensitively_and_serialise_upper() {
        assert_eq!("get".parse::<HttpMethod>(), Ok(HttpMethod::Get));
        assert_eq!("Patch".parse::<HttpMethod>(), Ok(HttpMethod::Patch));
        for m in HttpMethod::ALL {
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
            assert_eq!(
                serde_json::from_str::<HttpMethod>(&json.to_lowercase()).unwrap(),
                m
            );
        }
    }

    #[test]
    fn unknown_methods_are_rejected() {
        for m in ["OPTIONS", "TRACE", "CONNECT", "", "G ET"] {
            let err = m.parse::<HttpMethod>().unwrap_err();
            assert_eq!(err.code(), "method_invalid");
        }
    }

    #[test]
    fn only_get_and_head_refuse_bodies() {
        let refusing: Vec<_> = HttpMethod::ALL
            .into_iter()
            .filter(|m| !m.allows_body())
            .collect();
        assert_eq!(refusing, [HttpMethod::Get, HttpMethod::Head]);
    }
}
