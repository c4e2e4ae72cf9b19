//! RFC 9457 problem documents the edge answers with when it refuses or cannot serve a request.

use serde::Serialize;

/// Content type of a problem document.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// One problem document: a stable type, a short title, the status and a message for humans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
}

impl Problem {
    /// `slug` names the problem type (`invalid-email`, `rate-limited`, …).
    pub fn new(slug: &str, title: &'static str, status: u16, detail: impl Into<String>) -> Self {
        Self {
            type_uri: domain::problem::type_uri(slug),
            title,
            status,
            detail: detail.into(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| format!("{{\"status\":{}}}", self.status))
    }

    pub fn rate_limited(retry_after_secs: u32) -> Self {
        Self::new(
            "rate-limited",
            "Too many requests",
            429,
            format!("Too many requests from your address; try again in {retry_after_secs} s."),
        )
    }

    pub fn origin_unreachable() -> Self {
        Self::new(
            "origin-unavailable",
            "Service temporarily unavailable",
            502,
            "The API could not be reached. Please try again shortly.",
        )
    }

    pub fn not_found(path: &str) -> Self {
        Self::new(
            "not-found",
            "Not found",
            404,
            format!("There is nothing at {path}."),
        )
    }

    pub fn method_not_allowed(allow: &str) -> Self {
        Self::new(
            "method-not-allowed",
            "Method not allowed",
            405,
            format!("This address answers {allow} only."),
        )
    }

    pub fn internal() -> Self {
        Self::new(
            "internal",
            "Internal error",
            500,
            "Something went wrong on our side; it has been logged.",
        )
    }
}

/// True when a client asked for JSON rather than a page: an `Accept` naming JSON before HTML, or
/// a JSON request body.
pub fn prefers_json(accept: Option<&str>, content_type: Option<&str>) -> bool {
    let json_body = content_type.is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    match accept.map(str::to_ascii_lowercase) {
        Some(accept) => match (accept.find("json"), accept.find("text/html")) {
            (Some(json), Some(html)) => json < html,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => json_body,
        },
        None => json_body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_to_the_rfc_9457_members() {
        let json: serde_json::Value =
            serde_json::from_str(&Problem::rate_limited(7).to_json()).unwrap();
        assert_eq!(json["type"], "https://prikke.eu/problems/rate-limited");
        assert_eq!(json["title"], "Too many requests");
        assert_eq!(json["status"], 429);
        assert_eq!(
            json["detail"],
            "Too many requests from your address; try again in 7 s."
        );
    }

    #[test]
    fn json_is_preferred_when_asked_for_first_or_sent() {
        assert!(prefers_json(Some("application/json"), None));
        assert!(prefers_json(
            Some("application/problem+json, text/html;q=0.5"),
            None
        ));
        assert!(!prefers_json(
            Some("text/html,application/xhtml+xml,*/*;q=0.8"),
            None
        ));
        assert!(!prefers_json(
            Some("text/html, application/json;q=0.1"),
            None
        ));
        assert!(prefers_json(None, Some("application/json; charset=utf-8")));
        assert!(prefers_json(Some("*/*"), Some("application/json")));
        assert!(!prefers_json(
            Some("*/*"),
            Some("application/x-www-form-urlencoded")
        ));
        assert!(!prefers_json(None, None));
    }
}
