//! The edge's `/health` report (`domain::runtime::HealthReport`, the one every Prikke service
//! gives), and how the edge reads api-fn's.

use domain::runtime::{Environment, HealthReport};

/// Commit the Worker was built from (`PRIKKE_GIT_SHA` at build time; scripts/edge/build.sh sets it).
pub const BUILD_SHA: &str = match option_env!("PRIKKE_GIT_SHA") {
    Some(sha) => sha,
    None => "unknown",
};

/// The edge's report: its one critical dependency is api-fn. Without it there is no API, no
/// dashboard, no waitlist and no status, so the edge reports itself down (503) when api-fn is.
pub fn edge_report(sha: &str, env: Environment, api_up: bool) -> HealthReport {
    HealthReport::new(sha, env, &[("api", api_up)])
}

pub fn to_json(report: &HealthReport) -> String {
    serde_json::to_string(report).unwrap_or_else(|_| r#"{"up":false}"#.to_owned())
}

/// True when a health answer from another service says it is up.
pub fn reports_up(status: u16, body: &str) -> bool {
    status == 200 && serde_json::from_str::<HealthReport>(body).is_ok_and(|r| r.up)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_edge_reports_200_in_the_shared_shape() {
        let report = edge_report("abc123", Environment::Test, true);
        assert_eq!(report.status_code(), 200);
        let json: serde_json::Value = serde_json::from_str(&to_json(&report)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"sha": "abc123", "env": "test", "up": true, "deps": {"api": true}})
        );
    }

    #[test]
    fn edge_without_its_origin_reports_503() {
        let report = edge_report("abc123", Environment::Test, false);
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
