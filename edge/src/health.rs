//! The edge's `/health` report, in the shape every Prikke service uses.

use std::collections::BTreeMap;

use serde::Serialize;

/// Commit the Worker was built from (`PRIKKE_GIT_SHA` at build time; scripts/edge/build.sh sets it).
pub const BUILD_SHA: &str = match option_env!("PRIKKE_GIT_SHA") {
    Some(sha) => sha,
    None => "unknown",
};

/// `{"sha": "...", "env": "...", "up": true, "deps": {"api": true}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    pub sha: String,
    pub env: String,
    pub up: bool,
    pub deps: BTreeMap<&'static str, bool>,
}

impl HealthReport {
    /// The edge's one critical dependency is api-fn: without it there is no API, no dashboard,
    /// no waitlist and no status, so the edge reports itself down (503) when api-fn is.
    pub fn for_edge(sha: &str, env: &str, api_up: bool) -> Self {
        Self {
            sha: sha.to_owned(),
            env: env.to_owned(),
            up: api_up,
            deps: BTreeMap::from([("api", api_up)]),
        }
    }

    /// 200 when up, 503 when a critical dependency is down.
    pub fn status_code(&self) -> u16 {
        if self.up { 200 } else { 503 }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"up":false}"#.to_owned())
    }
}

/// True when a health body from another service says it is up.
pub fn reports_up(status: u16, body: &str) -> bool {
    status == 200
        && serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("up").and_then(serde_json::Value::as_bool))
            == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_edge_reports_200_in_the_shared_shape() {
        let report = HealthReport::for_edge("abc123", "test", true);
        assert_eq!(report.status_code(), 200);
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"sha": "abc123", "env": "test", "up": true, "deps": {"api": true}})
        );
    }

    #[test]
    fn edge_without_its_origin_reports_503() {
        let report = HealthReport::for_edge("abc123", "test", false);
        assert_eq!(report.status_code(), 503);
        assert_eq!(report.deps.get("api"), Some(&false));
        assert!(!report.up);
    }

    #[test]
    fn reads_another_service_s_health() {
        assert!(reports_up(
            200,
            r#"{"sha":"x","env":"y","up":true,"deps":{"postgres":true}}"#
        ));
        assert!(!reports_up(
            503,
            r#"{"up":false,"deps":{"postgres":false}}"#
        ));
        assert!(!reports_up(200, r#"{"up":false}"#));
        assert!(!reports_up(200, "ok"));
    }
}
