//! Dispatcher configuration from the environment, validated as a whole at start-up: the process
//! refuses to start, listing every problem, when something is missing or wrong.

use std::net::SocketAddr;
use std::time::Duration;

use domain::runtime::Environment;
use ipnet::IpNet;

use crate::alerts::AlertSettings;

#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// `DATABASE_URL` (required; never logged).
    pub database_url: String,
    /// `PRIKKE_ENV` (development | test | production) and `PRIKKE_SHA`, shown by /health.
    pub env: Environment,
    pub sha: String,
    /// `PRIKKE_DISPATCHER_BIND`: health and metrics listener (default 127.0.0.1:9090).
    pub ops_bind: SocketAddr,
    /// `PRIKKE_INSTANCE_ID` (default: host name, process id and a random suffix).
    pub instance_id: String,
    /// `PRIKKE_ALLOW_PRIVATE_TARGETS`: CIDRs the SSRF guard lets through (default none).
    pub allow_targets: Vec<IpNet>,
    /// `PRIKKE_ALLOW_TARGET_PORTS`: blocked (non-HTTP) ports the SSRF guard lets through (default none).
    pub allow_ports: Vec<u16>,
    /// `PRIKKE_CONCURRENCY_MIN` / `_MAX`: deliveries in flight (adaptive between the two).
    pub concurrency_min: usize,
    pub concurrency_max: usize,
    /// `PRIKKE_CLAIM_BATCH`: rows a claim takes; `PRIKKE_CLAIM_BATCH_MAX`: what claims grow to
    /// while they come back full (see [`crate::pump`]).
    pub claim_batch: usize,
    pub claim_batch_max: usize,
    /// `PRIKKE_PER_HOST_CONCURRENCY`: most in-flight requests to one target host.
    pub per_host_concurrency: usize,
    /// `PRIKKE_LOOKAHEAD_MS`: how far ahead the leader materialises runs.
    pub lookahead: Duration,
    /// `PRIKKE_PREFETCH_MS`: how far ahead a worker claims runs, to fire them on the dot.
    pub prefetch: Duration,
    /// `PRIKKE_PREFETCH_MAX`: most claimed runs a worker holds (waiting or in flight).
    pub prefetch_max: usize,
    /// `PRIKKE_PREFETCH_BYTES`: most request-body bytes (plus 1 KiB per run) of the runs a worker
    /// holds; claims stop at it, so a burst of large bodies is held a part at a time.
    pub prefetch_bytes: usize,
    /// `PRIKKE_POLL_MS`: longest the claim loop sleeps without a wake-up.
    pub poll: Duration,
    /// `PRIKKE_MISSED_GRACE_SECS`: an occurrence later than this is "missed" (catch-up policy).
    pub missed_grace: Duration,
    /// `PRIKKE_LEASE_MARGIN_SECS`: lease beyond run time + request timeout.
    pub lease_margin: Duration,
    /// `PRIKKE_SHUTDOWN_GRACE_SECS`: how long in-flight deliveries may finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// `PRIKKE_RECORD_DEFER_MS`: longest an outcome waits in memory while due runs wait to fire
    /// (0: write at once; see [`crate::recorder`]).
    pub record_defer: Duration,
    /// `PRIKKE_RESPONSE_BODY_CAP`: bytes of a response body kept in history.
    pub response_body_cap: usize,
    /// `PRIKKE_DB_MAX_CONNECTIONS`.
    pub db_max_connections: u32,
    /// `PRIKKE_LEADER_POLL_MS` (1000), `PRIKKE_HEARTBEAT_MS` (5000), `PRIKKE_RESCUE_EVERY_MS`
    /// (5000): how often followers try for the leader lock (and the leader checks its
    /// connection), the heartbeat beats, and the rescuer looks for expired leases.
    pub leader_poll: Duration,
    pub heartbeat_every: Duration,
    pub rescue_every: Duration,
    pub retention_every: Duration,
    /// `PRIKKE_SMTP_URL` (required in production; never logged): where alert e-mail goes out,
    /// `smtp://host:25`, `smtp://user:pass@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:pass@host:465`. `PRIKKE_SMTP_FROM`: the sender (default `Prikke <alerts@prikke.eu>`).
    pub smtp_url: Option<String>,
    pub smtp_from: String,
    /// `PRIKKE_PUBLIC_URL` (links in alerts), `PRIKKE_ALERT_POLL_MS` (500),
    /// `PRIKKE_ALERT_CONCURRENCY` (8), `PRIKKE_ALERT_LEASE_SECS` (60),
    /// `PRIKKE_ALERT_DIGEST_WINDOW_SECS` (60), `PRIKKE_ALERT_FIRST_RETRY_MS` (10000): see
    /// [`crate::alerts`].
    pub alerts: AlertSettings,
    /// Tests only (no variable): host names the alert sender resolves to fixed addresses, and
    /// extra trusted CA certificates, so local receivers can stand in for Slack and Discord.
    pub alert_resolve: Vec<(String, SocketAddr)>,
    pub alert_root_certificates_pem: Vec<Vec<u8>>,
    /// `PRIKKE_ENCRYPTION_KEYS`: the master keys that wrap each organization's data key, the same
    /// list api-fn has (`id:base64,…`, the first one current; see `domain::sealed`). Required in
    /// production; elsewhere a fixed development key. Never logged.
    pub master_keys: domain::sealed::MasterKeys,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

impl DispatcherConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Sane defaults around a database URL (tests start from here and adjust fields).
    pub fn with_database_url(database_url: impl Into<String>) -> Self {
        DispatcherConfig {
            database_url: database_url.into(),
            env: Environment::Development,
            sha: "unknown".into(),
            ops_bind: SocketAddr::from(([127, 0, 0, 1], 9090)),
            instance_id: default_instance_id(),
            allow_targets: Vec::new(),
            allow_ports: Vec::new(),
            concurrency_min: 16,
            concurrency_max: 512,
            claim_batch: 200,
            claim_batch_max: 1_000,
            per_host_concurrency: 64,
            lookahead: Duration::from_secs(5),
            prefetch: Duration::from_millis(1000),
            prefetch_max: 20_000,
            prefetch_bytes: 64 * 1024 * 1024,
            poll: Duration::from_millis(500),
            missed_grace: Duration::from_secs(60),
            lease_margin: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(25),
            record_defer: crate::recorder::DeferPolicy::default().max_defer,
            response_body_cap: 64 * 1024,
            db_max_connections: 16,
            leader_poll: Duration::from_secs(1),
            heartbeat_every: Duration::from_secs(5),
            rescue_every: Duration::from_secs(5),
            retention_every: Duration::from_secs(600),
            smtp_url: None,
            smtp_from: "Prikke <alerts@prikke.eu>".into(),
            alerts: AlertSettings::default(),
            alert_resolve: Vec::new(),
            alert_root_certificates_pem: Vec::new(),
            master_keys: store::keyring::development_keys(),
        }
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let url = store::pool::database_url_setting(get("DATABASE_URL")).unwrap_or_else(|problem| {
            problems.push(problem);
            String::new()
        });
        let mut c = DispatcherConfig::with_database_url(url);
        match Environment::from_setting(get(domain::runtime::ENV_VAR).as_deref()) {
            Ok(env) => c.env = env,
            Err(problem) => problems.push(problem),
        }
        if let Some(sha) = get("PRIKKE_SHA") {
            c.sha = sha;
        }
        if let Some(id) = get("PRIKKE_INSTANCE_ID") {
            if id.is_empty() || id.len() > 100 {
                problems.push("PRIKKE_INSTANCE_ID must be 1 to 100 characters".to_owned());
            } else {
                c.instance_id = id;
            }
        }
        if let Some(v) = get("PRIKKE_DISPATCHER_BIND") {
            match v.parse() {
                Ok(a) => c.ops_bind = a,
                Err(_) => problems.push(format!("PRIKKE_DISPATCHER_BIND must be an address like 127.0.0.1:9090, not {v:?}")),
            }
        }
        if let Some(v) = get(crate::delivery::ALLOW_LIST_VARIABLE) {
            match crate::delivery::parse_allow_list(&v) {
                Ok(nets) => c.allow_targets = nets,
                Err(e) => problems.push(e.to_string()),
            }
        }
        if let Some(v) = get(crate::delivery::ALLOW_PORTS_VARIABLE) {
            let parsed: Result<Vec<u16>, _> = v.split(',').map(str::trim).filter(|p| !p.is_empty()).map(|p| p.parse::<u16>().map_err(|_| p.to_owned())).collect();
            match parsed {
                Ok(ports) => c.allow_ports = ports,
                Err(bad) => problems.push(format!("{}: {bad:?} is not a port number (1 to 65535)", crate::delivery::ALLOW_PORTS_VARIABLE)),
            }
        }
        let mut number = |name: &str, min: u64, max: u64, set: &mut dyn FnMut(u64)| {
            if let Some(v) = get(name) {
                match v.parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => set(n),
                    _ => problems.push(format!("{name} must be a whole number from {min} to {max}, not {v:?}")),
                }
            }
        };
        number("PRIKKE_CONCURRENCY_MIN", 1, 10_000, &mut |n| c.concurrency_min = n as usize);
        number("PRIKKE_CONCURRENCY_MAX", 1, 10_000, &mut |n| c.concurrency_max = n as usize);
        number("PRIKKE_CLAIM_BATCH", 1, 5_000, &mut |n| c.claim_batch = n as usize);
        let mut claim_batch_max = None;
        number("PRIKKE_CLAIM_BATCH_MAX", 1, 5_000, &mut |n| claim_batch_max = Some(n as usize));
        number("PRIKKE_PER_HOST_CONCURRENCY", 1, 10_000, &mut |n| c.per_host_concurrency = n as usize);
        number("PRIKKE_LOOKAHEAD_MS", 100, 60_000, &mut |n| c.lookahead = Duration::from_millis(n));
        number("PRIKKE_PREFETCH_MS", 0, 10_000, &mut |n| c.prefetch = Duration::from_millis(n));
        number("PRIKKE_PREFETCH_MAX", 1, 1_000_000, &mut |n| c.prefetch_max = n as usize);
        number("PRIKKE_PREFETCH_BYTES", 1024 * 1024, 64 * 1024 * 1024 * 1024, &mut |n| c.prefetch_bytes = n as usize);
        number("PRIKKE_POLL_MS", 10, 60_000, &mut |n| c.poll = Duration::from_millis(n));
        number("PRIKKE_MISSED_GRACE_SECS", 1, 86_400, &mut |n| c.missed_grace = Duration::from_secs(n));
        number("PRIKKE_LEASE_MARGIN_SECS", 5, 3_600, &mut |n| c.lease_margin = Duration::from_secs(n));
        number("PRIKKE_SHUTDOWN_GRACE_SECS", 0, 3_600, &mut |n| c.shutdown_grace = Duration::from_secs(n));
        number("PRIKKE_RECORD_DEFER_MS", 0, 10_000, &mut |n| c.record_defer = Duration::from_millis(n));
        number("PRIKKE_RESPONSE_BODY_CAP", 0, 1 << 20, &mut |n| c.response_body_cap = n as usize);
        number("PRIKKE_DB_MAX_CONNECTIONS", 4, 200, &mut |n| c.db_max_connections = n as u32);
        number("PRIKKE_LEADER_POLL_MS", 50, 60_000, &mut |n| c.leader_poll = Duration::from_millis(n));
        number("PRIKKE_HEARTBEAT_MS", 100, 60_000, &mut |n| c.heartbeat_every = Duration::from_millis(n));
        number("PRIKKE_RESCUE_EVERY_MS", 100, 600_000, &mut |n| c.rescue_every = Duration::from_millis(n));
        number("PRIKKE_ALERT_POLL_MS", 10, 60_000, &mut |n| c.alerts.poll = Duration::from_millis(n));
        number("PRIKKE_ALERT_CONCURRENCY", 1, 1_000, &mut |n| c.alerts.concurrency = n as usize);
        number("PRIKKE_ALERT_LEASE_SECS", 1, 3_600, &mut |n| c.alerts.lease = Duration::from_secs(n));
        number("PRIKKE_ALERT_DIGEST_WINDOW_SECS", 1, 3_600, &mut |n| c.alerts.digest_window = Duration::from_secs(n));
        number("PRIKKE_ALERT_FIRST_RETRY_MS", 10, 3_600_000, &mut |n| c.alerts.first_retry = Duration::from_millis(n));
        c.alerts.public_url = match get("PRIKKE_PUBLIC_URL") {
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => u.trim_end_matches('/').to_owned(),
            Some(u) => {
                problems.push(format!("PRIKKE_PUBLIC_URL must be an http(s) URL, not {u:?}"));
                String::new()
            }
            None if c.env.is_production() => "https://prikke.eu".to_owned(),
            None => c.alerts.public_url.clone(),
        };
        if let Some(from) = get("PRIKKE_SMTP_FROM") {
            c.smtp_from = from;
        }
        c.smtp_url = get("PRIKKE_SMTP_URL").filter(|u| !u.trim().is_empty());
        match &c.smtp_url {
            // built once here so a bad URL or sender stops the start, not the first alert
            Some(url) => {
                if let Err(problem) = crate::alerts::email::Mailer::new(url, &c.smtp_from) {
                    problems.push(problem);
                }
            }
            None if c.env.is_production() => problems.push("PRIKKE_SMTP_URL is required in production: alert e-mails go out through it".to_owned()),
            None => {}
        }
        match store::keyring::master_keys_setting(get("PRIKKE_ENCRYPTION_KEYS").as_deref(), c.env.is_production()) {
            Ok(keys) => c.master_keys = keys,
            Err(problem) => problems.push(problem),
        }
        // unset, the maximum is the default or the base, whichever is larger
        c.claim_batch_max = claim_batch_max.unwrap_or(c.claim_batch_max.max(c.claim_batch));
        if c.claim_batch > c.claim_batch_max {
            problems.push(format!(
                "PRIKKE_CLAIM_BATCH ({}) must not exceed PRIKKE_CLAIM_BATCH_MAX ({})",
                c.claim_batch, c.claim_batch_max
            ));
        }
        if c.concurrency_min > c.concurrency_max {
            problems.push(format!(
                "PRIKKE_CONCURRENCY_MIN ({}) must not exceed PRIKKE_CONCURRENCY_MAX ({})",
                c.concurrency_min, c.concurrency_max
            ));
        }
        if problems.is_empty() { Ok(c) } else { Err(ConfigError(problems)) }
    }
}

fn default_instance_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_owned()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "dispatcher".to_owned());
    format!("{host}-{}-{:04x}", std::process::id(), rand::random::<u16>())
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
    fn a_database_url_is_enough() {
        let c = DispatcherConfig::from_lookup(lookup(&[("DATABASE_URL", "postgres://x@h/db")])).unwrap();
        assert!(c.allow_targets.is_empty(), "private targets are refused unless allowed explicitly");
        assert_eq!((c.concurrency_min, c.concurrency_max, c.claim_batch, c.claim_batch_max), (16, 512, 200, 1000));
    }

    #[test]
    fn parses_allow_list_and_numbers() {
        let c = DispatcherConfig::from_lookup(lookup(&[
            ("DATABASE_URL", "postgres://x@h/db"),
            ("PRIKKE_ALLOW_PRIVATE_TARGETS", "127.0.0.0/8, ::1/128,10.1.2.3"),
            ("PRIKKE_CLAIM_BATCH", "500"),
            ("PRIKKE_PREFETCH_MS", "0"),
            ("PRIKKE_RECORD_DEFER_MS", "250"),
        ]))
        .unwrap();
        assert_eq!(c.allow_targets.len(), 3);
        assert_eq!((c.claim_batch, c.claim_batch_max), (500, 1000));
        assert_eq!(c.prefetch, Duration::ZERO);
        assert_eq!(c.record_defer, Duration::from_millis(250));
    }

    #[test]
    fn the_claim_maximum_follows_a_larger_base_unless_set() {
        let base_only = DispatcherConfig::from_lookup(lookup(&[("DATABASE_URL", "postgres://x@h/db"), ("PRIKKE_CLAIM_BATCH", "2000")])).unwrap();
        assert_eq!((base_only.claim_batch, base_only.claim_batch_max), (2000, 2000));
        let err = DispatcherConfig::from_lookup(lookup(&[
            ("DATABASE_URL", "postgres://x@h/db"),
            ("PRIKKE_CLAIM_BATCH", "600"),
            ("PRIKKE_CLAIM_BATCH_MAX", "300"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("PRIKKE_CLAIM_BATCH (600) must not exceed PRIKKE_CLAIM_BATCH_MAX (300)"), "{err}");
    }

    #[test]
    fn every_problem_is_listed() {
        let err = DispatcherConfig::from_lookup(lookup(&[
            ("PRIKKE_ALLOW_PRIVATE_TARGETS", "everything"),
            ("PRIKKE_CLAIM_BATCH", "0"),
            ("PRIKKE_CONCURRENCY_MIN", "50"),
            ("PRIKKE_CONCURRENCY_MAX", "10"),
            ("PRIKKE_DISPATCHER_BIND", "nowhere"),
        ]))
        .unwrap_err();
        let text = err.to_string();
        for needle in ["DATABASE_URL is required", "everything", "PRIKKE_CLAIM_BATCH", "must not exceed", "PRIKKE_DISPATCHER_BIND"] {
            assert!(text.contains(needle), "{needle} missing: {text}");
        }
    }

    #[test]
    fn production_requires_master_keys_and_they_never_reach_a_log() {
        let prod = [("DATABASE_URL", "postgres://x@h/db"), ("PRIKKE_ENV", "production"), ("PRIKKE_SMTP_URL", "smtp://127.0.0.1:2525")];
        let err = DispatcherConfig::from_lookup(lookup(&prod)).unwrap_err().to_string();
        assert!(err.contains("PRIKKE_ENCRYPTION_KEYS is required in production"), "{err}");
        let key = ("PRIKKE_ENCRYPTION_KEYS", "k2:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=, k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=");
        let c = DispatcherConfig::from_lookup(lookup(&[prod[0], prod[1], prod[2], key])).unwrap();
        assert_eq!(c.master_keys.ids(), vec!["k2", "k1"]);
        assert!(!format!("{c:?}").contains("AgICAgIC"), "redacted in Debug");
        let dev = DispatcherConfig::from_lookup(lookup(&[prod[0]])).unwrap();
        assert_eq!(dev.master_keys.ids(), vec!["dev"], "a fixed development key elsewhere");
    }
}
