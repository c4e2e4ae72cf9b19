//! Where a Prikke process runs (`PRIKKE_ENV`), read the same way by every service, and the
//! `/health` body every service answers with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The variable naming the environment.
pub const ENV_VAR: &str = "PRIKKE_ENV";

/// Where the process runs; shown by /health and used to pick log format and safety defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Environment {
    #[default]
    Development,
    Test,
    Production,
}

impl Environment {
    pub const fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }

    pub const fn is_production(self) -> bool {
        matches!(self, Environment::Production)
    }

    /// The value of `PRIKKE_ENV`: unset means development; `dev` and `prod` are accepted for
    /// development and production. The error is a sentence for the start-up report.
    pub fn from_setting(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("development" | "dev") => Ok(Environment::Development),
            Some("test") => Ok(Environment::Test),
            Some("production" | "prod") => Ok(Environment::Production),
            Some(other) => Err(format!("{ENV_VAR} must be development, test or production, not {other:?}")),
        }
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every service's `GET /health`:
/// `{"sha": "…", "env": "…", "up": true, "deps": {"postgres": true}}`. `up` is true when every
/// critical dependency is; the answer is 200 then and 503 otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthReport {
    /// The deployed commit.
    pub sha: String,
    /// development, test or production.
    pub env: String,
    pub up: bool,
    /// Each critical dependency and whether it answers.
    pub deps: BTreeMap<String, bool>,
}

impl HealthReport {
    pub fn new(sha: &str, env: Environment, deps: &[(&str, bool)]) -> Self {
        HealthReport {
            sha: sha.to_owned(),
            env: env.as_str().to_owned(),
            up: deps.iter().all(|(_, up)| *up),
            deps: deps.iter().map(|(name, up)| ((*name).to_owned(), *up)).collect(),
        }
    }

    /// 200 when up, 503 when a critical dependency is down.
    pub const fn status_code(&self) -> u16 {
        if self.up { 200 } else { 503 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_setting() {
        assert_eq!(Environment::from_setting(None), Ok(Environment::Development));
        assert_eq!(Environment::from_setting(Some("prod")), Ok(Environment::Production));
        assert_eq!(Environment::from_setting(Some("test")), Ok(Environment::Test));
        assert_eq!(
            Environment::from_setting(Some("staging")),
            Err("PRIKKE_ENV must be development, test or production, not \"staging\"".to_owned())
        );
    }

    #[test]
    fn a_report_is_up_only_when_every_dependency_is() {
        let up = HealthReport::new("abc", Environment::Test, &[("postgres", true)]);
        assert_eq!((up.up, up.status_code(), up.env.as_str()), (true, 200, "test"));
        let down = HealthReport::new("abc", Environment::Production, &[("postgres", true), ("smtp", false)]);
        assert_eq!((down.up, down.status_code()), (false, 503));
        assert_eq!(down.deps.get("smtp"), Some(&false));
    }
}
