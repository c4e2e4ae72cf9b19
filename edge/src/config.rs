//! The edge's configuration: wrangler.toml `[vars]`, validated on every request (a Worker cannot
//! refuse to start, so a bad value turns into a logged error and a generic 500).

use domain::runtime::{ENV_VAR, Environment};
use thiserror::Error;
use url::Url;

use crate::forwarding::DEFAULT_MAX_BODY_BYTES;

/// Variable naming api-fn's origin, e.g. `https://api-origin.prikke.eu` or `http://127.0.0.1:3000`.
pub const API_ORIGIN_VAR: &str = "API_ORIGIN";
/// Optional variable overriding the largest forwarded request body, in bytes.
pub const MAX_BODY_VAR: &str = "MAX_BODY_BYTES";
/// The secret the edge proves itself to api-fn with (`wrangler secret put ORIGIN_SECRET`; the
/// same value as api-fn's `PRIKKE_EDGE_SECRET`). Sent as [`crate::forwarding::EDGE_PROOF_HEADER`].
pub const ORIGIN_SECRET_VAR: &str = "ORIGIN_SECRET";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("{var} is not set; it must name api-fn's origin, e.g. https://api.example.eu")]
    Missing { var: &'static str },
    #[error("{API_ORIGIN_VAR} = {value:?} is not an origin: {reason}")]
    InvalidApiOrigin { value: String, reason: &'static str },
    #[error("{MAX_BODY_VAR} = {0:?} is not a positive number of bytes")]
    InvalidMaxBody(String),
    #[error("{0}")]
    InvalidEnv(String),
}

/// Where api-fn listens: scheme, host and port, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiOrigin(String);

impl ApiOrigin {
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::InvalidApiOrigin {
            value: value.to_owned(),
            reason,
        };
        let url = Url::parse(value.trim()).map_err(|_| invalid("not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if url.host_str().is_none() {
            return Err(invalid("a host is required"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("credentials do not belong in the origin"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("an origin has no path, query or fragment"));
        }
        Ok(Self(url.origin().ascii_serialization()))
    }

    /// The origin's URL for a path (with its query), e.g. `/api/v1/jobs?limit=5`.
    pub fn url_for(&self, path_and_query: &str) -> String {
        if path_and_query.starts_with('/') {
            format!("{}{path_and_query}", self.0)
        } else {
            format!("{}/{path_and_query}", self.0)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub api_origin: ApiOrigin,
    /// `PRIKKE_ENV`, read as every Prikke service reads it (unset: development).
    pub env: Environment,
    pub max_body_bytes: u64,
    /// Sent to api-fn on every request when set (api-fn refuses requests without it when it has one).
    pub origin_secret: Option<String>,
}

impl Config {
    /// Reads the configuration through `var`, which returns a variable's value if it is set.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let origin =
            var(API_ORIGIN_VAR)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing {
                    var: API_ORIGIN_VAR,
                })?;
        let max_body_bytes = match var(MAX_BODY_VAR) {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(ConfigError::InvalidMaxBody(raw))?,
        };
        Ok(Self {
            api_origin: ApiOrigin::parse(&origin)?,
            env: Environment::from_setting(var(ENV_VAR).as_deref()).map_err(ConfigError::InvalidEnv)?,
            max_body_bytes,
            origin_secret: var(ORIGIN_SECRET_VAR).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn reads_a_complete_configuration() {
        let config = Config::from_vars(vars(&[
            ("API_ORIGIN", "http://127.0.0.1:3000"),
            ("PRIKKE_ENV", "test"),
            ("MAX_BODY_BYTES", "2048"),
        ]))
        .unwrap();
        assert_eq!(config.api_origin.as_str(), "http://127.0.0.1:3000");
        assert_eq!(config.env, Environment::Test);
        assert_eq!(config.max_body_bytes, 2048);
        assert_eq!(config.origin_secret, None);
        let config = Config::from_vars(vars(&[("API_ORIGIN", "http://127.0.0.1:3000"), ("ORIGIN_SECRET", " s3cret ")])).unwrap();
        assert_eq!(config.origin_secret.as_deref(), Some("s3cret"));
    }

    #[test]
    fn defaults_apply_to_optional_variables() {
        let config = Config::from_vars(vars(&[("API_ORIGIN", "https://api.example.eu/")])).unwrap();
        assert_eq!(config.api_origin.as_str(), "https://api.example.eu");
        assert_eq!(config.env, Environment::Development, "unset, as every service reads it");
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    }

    #[test]
    fn refuses_missing_or_malformed_values_with_a_precise_message() {
        assert_eq!(
            Config::from_vars(vars(&[])),
            Err(ConfigError::Missing { var: "API_ORIGIN" })
        );
        assert_eq!(
            Config::from_vars(vars(&[
                ("API_ORIGIN", "http://x.eu"),
                ("MAX_BODY_BYTES", "lots")
            ]))
            .unwrap_err()
            .to_string(),
            "MAX_BODY_BYTES = \"lots\" is not a positive number of bytes"
        );
        assert!(
            Config::from_vars(vars(&[
                ("API_ORIGIN", "http://x.eu"),
                ("MAX_BODY_BYTES", "0")
            ]))
            .is_err()
        );
    }

    #[test]
    fn an_origin_is_only_scheme_host_and_port() {
        for (value, reason) in [
            ("api.example.eu", "not a URL"),
            ("ftp://api.example.eu", "the scheme must be http or https"),
            (
                "https://user:pw@api.example.eu",
                "credentials do not belong in the origin",
            ),
            (
                "https://api.example.eu/v1",
                "an origin has no path, query or fragment",
            ),
            (
                "https://api.example.eu/?x=1",
                "an origin has no path, query or fragment",
            ),
        ] {
            assert_eq!(
                ApiOrigin::parse(value),
                Err(ConfigError::InvalidApiOrigin {
                    value: value.into(),
                    reason
                }),
                "{value}"
            );
        }
    }

    #[test]
    fn builds_origin_urls_for_paths() {
        let origin = ApiOrigin::parse("http://127.0.0.1:3000").unwrap();
        assert_eq!(
            origin.url_for("/api/v1/jobs?limit=5"),
            "http://127.0.0.1:3000/api/v1/jobs?limit=5"
        );
        assert_eq!(origin.url_for("health"), "http://127.0.0.1:3000/health");
    }
}
