//! api-fn configuration, read from the environment once at start-up and validated as a whole:
//! the process refuses to start, listing every problem, when something is missing or wrong.

use std::net::SocketAddr;

pub use domain::runtime::Environment;

#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL` (required). Never logged: it may hold a password.
    pub database_url: String,
    /// `PRIKKE_ENV`: development (default) | test | production.
    pub env: Environment,
    /// `PRIKKE_SHA`: the deployed commit, shown by /health (default "unknown").
    pub sha: String,
    /// `PRIKKE_BIND`: local listener address (default 127.0.0.1:8080; port 0 picks a free one).
    pub bind: SocketAddr,
    /// `PRIKKE_MIGRATE`: apply pending migrations at start (default true outside production).
    pub migrate_on_start: bool,
    /// `PRIKKE_DB_MAX_CONNECTIONS` (default 10; on Lambda keep it small, e.g. 2).
    pub db_max_connections: u32,
    /// `PRIKKE_API_RATE_PER_MINUTE`: requests per API key per minute (default 600; 0 turns the
    /// per-key limit off).
    pub api_rate_per_minute: u32,
    /// `PRIKKE_PING_RATE_PER_MINUTE`: heartbeat pings per client IP per minute (default 60; 0 off).
    pub ping_rate_per_minute: u32,
    /// `PRIKKE_LOGIN_RATE_PER_MINUTE`: sign-in attempts and e-mailed-link requests per client IP,
    /// and per address, per minute (default 10; 0 off).
    pub login_rate_per_minute: u32,
    /// `PRIKKE_AUTH_FAILURE_RATE_PER_MINUTE`: unknown or revoked API keys a client IP may present
    /// per minute before its requests are refused without a lookup (default 30; 0 off).
    pub auth_failure_rate_per_minute: u32,
    /// `PRIKKE_WAITLIST_RATE_PER_MINUTE`: waitlist sign-ups per client IP per minute, counted at
    /// the origin as well as at the edge (default 5; 0 off).
    pub waitlist_rate_per_minute: u32,
    /// `PRIKKE_TRUST_FORWARDED_FOR`: take the client IP from the last `X-Forwarded-For` entry
    /// (the edge Worker writes it). Default: true in production (api-fn sits behind the edge),
    /// false elsewhere.
    pub trust_forwarded_for: bool,
    /// `PRIKKE_PUBLIC_URL`: the public base URL ping URLs are shown under (default
    /// https://prikke.eu in production, http://<PRIKKE_BIND> elsewhere).
    pub public_url: String,
    /// `PRIKKE_BILLING_WEBHOOK_SECRET`: the shared secret the billing provider signs
    /// `POST /billing/webhook` with (unset: the endpoint answers 503 and changes nothing).
    /// Never logged.
    pub billing_webhook_secret: Option<Secret>,
    /// `PRIKKE_CHECKOUT_URL`: where "upgrade" goes (the provider's checkout); the organization's
    /// id is added as `checkout[custom][org_id]` so the subscription's events name it.
    pub checkout_url: Option<String>,
    /// `PRIKKE_EDGE_SECRET`: the secret the edge Worker sends in `x-prikke-edge` (its
    /// `ORIGIN_SECRET`); when set, requests without it are refused (see [`crate::edge_proof`]).
    /// Required in production. Two, separated by a comma, while rotating. Never logged.
    pub edge_secrets: Vec<Secret>,
    /// `PRIKKE_ENCRYPTION_KEYS`: the master keys that wrap each organization's data key
    /// (`id:base64,…`, the first one current; see `domain::sealed`). Required in production;
    /// elsewhere a fixed development key. Never logged. The dispatcher needs the same list.
    pub master_keys: domain::sealed::MasterKeys,
}

/// A setting that must not reach a log: `Debug` shows only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Everything wrong with the environment, one line each.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Same as `from_env`, reading variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let database_url = store::pool::database_url_setting(get("DATABASE_URL")).unwrap_or_else(|problem| {
            problems.push(problem);
            String::new()
        });
        let env = Environment::from_setting(get(domain::runtime::ENV_VAR).as_deref()).unwrap_or_else(|problem| {
            problems.push(problem);
            Environment::Development
        });
        let bind = match get("PRIKKE_BIND") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(v) => v.parse().unwrap_or_else(|_| {
                problems.push(format!("PRIKKE_BIND must be an address like 127.0.0.1:8080, not {v:?}"));
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }),
        };
        let migrate_on_start = match get("PRIKKE_MIGRATE").as_deref() {
            None => env != Environment::Production,
            Some("1" | "true" | "yes") => true,
            Some("0" | "false" | "no") => false,
            Some(other) => {
                problems.push(format!("PRIKKE_MIGRATE must be true or false, not {other:?}"));
                false
            }
        };
        let db_max_connections = match get("PRIKKE_DB_MAX_CONNECTIONS") {
            None => 10,
            Some(v) => match v.parse::<u32>() {
                Ok(n @ 1..=200) => n,
                _ => {
                    problems.push(format!("PRIKKE_DB_MAX_CONNECTIONS must be a number from 1 to 200, not {v:?}"));
                    10
                }
            },
        };
        let mut per_minute = |var: &str, default: u32| match get(var) {
            None => default,
            Some(v) => v.parse::<u32>().unwrap_or_else(|_| {
                problems.push(format!("{var} must be a whole number of requests per minute (0 turns the limit off), not {v:?}"));
                default
            }),
        };
        let api_rate_per_minute = per_minute("PRIKKE_API_RATE_PER_MINUTE", 600);
        let ping_rate_per_minute = per_minute("PRIKKE_PING_RATE_PER_MINUTE", 60);
        let login_rate_per_minute = per_minute("PRIKKE_LOGIN_RATE_PER_MINUTE", 10);
        let auth_failure_rate_per_minute = per_minute("PRIKKE_AUTH_FAILURE_RATE_PER_MINUTE", 30);
        let waitlist_rate_per_minute = per_minute("PRIKKE_WAITLIST_RATE_PER_MINUTE", 5);
        let trust_forwarded_for = match get("PRIKKE_TRUST_FORWARDED_FOR").as_deref() {
            None => env == Environment::Production,
            Some("1" | "true" | "yes") => true,
            Some("0" | "false" | "no") => false,
            Some(other) => {
                problems.push(format!("PRIKKE_TRUST_FORWARDED_FOR must be true or false, not {other:?}"));
                false
            }
        };
        let public_url = match get("PRIKKE_PUBLIC_URL") {
            None if env == Environment::Production => "https://prikke.eu".to_owned(),
            None => format!("http://{bind}"),
            Some(u) if (u.starts_with("https://") || u.starts_with("http://")) && !u.ends_with('/') => u,
            Some(u) => {
                problems.push(format!("PRIKKE_PUBLIC_URL must be an http(s) URL without a trailing slash, not {u:?}"));
                String::new()
            }
        };
        let billing_webhook_secret = match get("PRIKKE_BILLING_WEBHOOK_SECRET") {
            Some(s) if s.len() < 16 => {
                problems.push("PRIKKE_BILLING_WEBHOOK_SECRET must be at least 16 characters (it was shorter)".to_owned());
                None
            }
            other => other.filter(|s| !s.is_empty()).map(Secret),
        };
        let checkout_url = match get("PRIKKE_CHECKOUT_URL") {
            Some(u) if u.starts_with("https://") || u.starts_with("http://") => Some(u),
            Some(u) if u.is_empty() => None,
            Some(u) => {
                problems.push(format!("PRIKKE_CHECKOUT_URL must be an http(s) URL, not {u:?}"));
                None
            }
            None => None,
        };
        let edge_secrets: Vec<Secret> = get("PRIKKE_EDGE_SECRET")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Secret(s.to_owned()))
            .collect();
        if edge_secrets.iter().any(|s| s.0.len() < 32) {
            problems.push("PRIKKE_EDGE_SECRET must be at least 32 characters (it was shorter)".to_owned());
        }
        if edge_secrets.iter().any(|s| s.0.bytes().any(|b| !b.is_ascii_graphic())) {
            problems.push("PRIKKE_EDGE_SECRET must be printable ASCII without spaces (it travels in a header)".to_owned());
        }
        if edge_secrets.len() > 2 {
            problems.push("PRIKKE_EDGE_SECRET holds at most two secrets (new,old) while rotating".to_owned());
        }
        if edge_secrets.is_empty() && env == Environment::Production {
            problems.push("PRIKKE_EDGE_SECRET is required in production: the origin must refuse requests that did not come through the edge (set the same value as the edge's ORIGIN_SECRET)".to_owned());
        }
        let master_keys = store::keyring::master_keys_setting(get("PRIKKE_ENCRYPTION_KEYS").as_deref(), env == Environment::Production).map_err(|e| problems.push(e)).ok();
        let (true, Some(master_keys)) = (problems.is_empty(), master_keys) else {
            return Err(ConfigError(problems));
        };
        Ok(Config {
            master_keys,
            database_url,
            env,
            sha: get("PRIKKE_SHA").unwrap_or_else(|| "unknown".to_owned()),
            bind,
            migrate_on_start,
            db_max_connections,
            api_rate_per_minute,
            ping_rate_per_minute,
            login_rate_per_minute,
            auth_failure_rate_per_minute,
            waitlist_rate_per_minute,
            trust_forwarded_for,
            public_url,
            billing_webhook_secret,
            checkout_url,
            edge_secrets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_with_only_a_database_url() {
        let c = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://u@h/db")])).unwrap();
        assert_eq!(c.env, Environment::Development);
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert!(c.migrate_on_start);
        assert_eq!(c.db_max_connections, 10);
        assert_eq!(c.sha, "unknown");
        assert_eq!((c.api_rate_per_minute, c.ping_rate_per_minute), (600, 60));
        assert!(!c.trust_forwarded_for);
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn production_trusts_the_edge_and_shows_the_public_host() {
        let c = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://u@h/db"), ("PRIKKE_ENV", "production"), ("PRIKKE_EDGE_SECRET", "0123456789abcdef0123456789abcdef"), ("PRIKKE_ENCRYPTION_KEYS", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")])).unwrap();
        assert!(c.trust_forwarded_for);
        assert_eq!(c.public_url, "https://prikke.eu");
    }

    #[test]
    fn rate_limits_and_urls_are_checked() {
        let err = Config::from_lookup(lookup(&[
            ("DATABASE_URL", "postgres://u@h/db"),
            ("PRIKKE_API_RATE_PER_MINUTE", "lots"),
            ("PRIKKE_PUBLIC_URL", "prikke.eu/"),
        ]))
        .unwrap_err();
        assert_eq!(err.0.len(), 2, "{err}");
        let c = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://u@h/db"), ("PRIKKE_API_RATE_PER_MINUTE", "0")])).unwrap();
        assert_eq!(c.api_rate_per_minute, 0);
    }

    #[test]
    fn production_requires_the_edge_secret_and_it_never_reaches_a_log() {
        let err = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://u@h/db"), ("PRIKKE_ENV", "production")])).unwrap_err();
        assert!(err.to_string().contains("PRIKKE_EDGE_SECRET is required in production"), "{err}");
        assert!(err.to_string().contains("PRIKKE_ENCRYPTION_KEYS is required in production"), "{err}");
        let key = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let err = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://u@h/db"), ("PRIKKE_ENCRYPTION_KEYS", "k1:AAAA")])).unwrap_err();
        assert!(err.to_string().contains("PRIKKE_ENCRYPTION_KEYS: entry 1 (id \"k1\"): the key must be 32 bytes"), "{err}");
        let c = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://u@h/db"), ("PRIKKE_ENCRYPTION_KEYS", key)])).unwrap();
        assert_eq!(c.master_keys.ids(), vec!["k1"]);
        assert!(!format!("{c:?}").contains("AAAAAAAA"), "master keys redacted in Debug");
        let err = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://u@h/db"), ("PRIKKE_EDGE_SECRET", "short")])).unwrap_err();
        assert!(err.to_string().contains("at least 32 characters"), "{err}");
        let c = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://u@h/db"), ("PRIKKE_EDGE_SECRET", "0123456789abcdef0123456789abcdef")])).unwrap();
        assert!(!format!("{c:?}").contains("0123456789abcdef"), "redacted in Debug");
        assert!(Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://u@h/db")])).unwrap().edge_secrets.is_empty(), "optional outside production");
        let two = "0123456789abcdef0123456789abcdef, fedcba9876543210fedcba9876543210";
        assert_eq!(Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://u@h/db"), ("PRIKKE_EDGE_SECRET", two)])).unwrap().edge_secrets.len(), 2, "new,old while rotating");
    }

    #[test]
    fn production_does_not_migrate_unless_asked() {
        let c = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://u@h/db"), ("PRIKKE_ENV", "production"), ("PRIKKE_EDGE_SECRET", "0123456789abcdef0123456789abcdef"), ("PRIKKE_ENCRYPTION_KEYS", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")])).unwrap();
        assert!(!c.migrate_on_start);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = Config::from_lookup(lookup(&[
            ("PRIKKE_ENV", "staging"),
            ("PRIKKE_BIND", "everywhere"),
            ("PRIKKE_MIGRATE", "maybe"),
            ("PRIKKE_DB_MAX_CONNECTIONS", "0"),
        ]))
        .unwrap_err();
        assert_eq!(err.0.len(), 5, "{err}");
        let text = err.to_string();
        for needle in ["DATABASE_URL is required", "PRIKKE_ENV", "PRIKKE_BIND", "PRIKKE_MIGRATE", "PRIKKE_DB_MAX_CONNECTIONS"] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }

    #[test]
    fn database_url_must_be_postgres() {
        let err = Config::from_lookup(lookup(&[("DATABASE_URL", "mysql://x")])).unwrap_err();
        assert!(err.to_string().contains("postgres://"));
    }
}
