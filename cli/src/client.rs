//! The API over HTTP: one request helper that turns every answer into JSON or a [`Failure`]
//! (read from the problem+json body), and the exit code each failure means.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// What a command's failure exits with (documented in `--help` and README).
pub mod exit {
    pub const OK: u8 = 0;
    /// The API refused the request (4xx other than authentication), or a local error.
    pub const API: u8 = 1;
    /// Wrong usage: arguments (clap's own code) or a file that cannot be read or parsed.
    pub const USAGE: u8 = 2;
    /// Authentication: no key, or the key was refused (401, 403).
    pub const AUTH: u8 = 3;
    /// The API could not be reached, or it failed (5xx).
    pub const NETWORK: u8 = 4;
}

/// One invalid field of a validation problem.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    #[serde(default)]
    pub code: String,
    pub message: String,
}

/// An RFC 9457 problem document as the API sends it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Problem {
    #[serde(default, rename = "type")]
    pub type_uri: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub errors: Vec<FieldProblem>,
}

impl Problem {
    /// The slug of the `type` URI, e.g. `validation`.
    pub fn slug(&self) -> &str {
        self.type_uri.rsplit('/').next().unwrap_or("")
    }
}

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// The API answered with an error status.
    Api { status: u16, problem: Problem, retry_after: Option<String> },
    /// The API could not be reached, or its answer could not be read.
    Network(String),
    /// Bad input found before anything was sent (a file, an argument).
    Usage(String),
    /// No API key configured.
    NoKey,
    /// Something else went wrong locally (the credentials file, a prompt).
    Local(String),
    /// Already explained on stderr; exit with this code.
    Reported(u8),
}

/// Plan limits answer 403 but are not about the key.
const PLAN_LIMITS: [&str; 4] = ["job-limit-reached", "channel-limit-reached", "key-limit-reached", "quota-exceeded"];

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Api { status: 401, .. } | Failure::NoKey => exit::AUTH,
            Failure::Api { status: 403, problem, .. } if !PLAN_LIMITS.contains(&problem.slug()) => exit::AUTH,
            Failure::Api { status, .. } if *status >= 500 => exit::NETWORK,
            Failure::Api { .. } | Failure::Local(_) => exit::API,
            Failure::Network(_) => exit::NETWORK,
            Failure::Usage(_) => exit::USAGE,
            Failure::Reported(code) => *code,
        }
    }

    /// The message for people, on stderr. `field_label` rewrites a field path (sync names the
    /// job and its line in the file instead of `jobs[3]`).
    pub fn render(&self, field_label: &dyn Fn(&str) -> String) -> String {
        match self {
            Failure::Api { status, problem, retry_after } => {
                let title = if problem.title.is_empty() { "Request failed" } else { &problem.title };
                let mut out = format!("error: {title} (HTTP {status})");
                // a validation problem's detail only counts its errors (listed below)
                if !problem.detail.is_empty() && problem.errors.is_empty() {
                    out.push_str(&format!(": {}", problem.detail));
                }
                for e in &problem.errors {
                    out.push_str(&format!("\n  {}: {}", field_label(&e.field), e.message));
                    if !e.code.is_empty() {
                        out.push_str(&format!(" [{}]", e.code));
                    }
                }
                if *status == 401 {
                    out.push_str("\nhint: check the key (`prikke login`, or PRIKKE_API_KEY) and the API URL (--api-url, PRIKKE_API_URL)");
                }
                if let Some(after) = retry_after {
                    out.push_str(&format!("\nhint: try again in {after} s"));
                }
                out
            }
            Failure::Network(msg) => format!("error: {msg}"),
            Failure::Usage(msg) | Failure::Local(msg) => format!("error: {msg}"),
            Failure::NoKey => "error: no API key: run `prikke login`, or set PRIKKE_API_KEY".to_owned(),
            Failure::Reported(_) => String::new(),
        }
    }
}

impl From<crate::files::FileError> for Failure {
    fn from(e: crate::files::FileError) -> Self {
        Failure::Usage(e.0)
    }
}

/// An API client for one base URL and key.
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
}

/// `https://prikke.eu/` or `https://prikke.eu/api/v1` → `https://prikke.eu`.
pub fn normalize_base(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    url.strip_suffix("/api/v1").unwrap_or(url).to_owned()
}

impl Client {
    pub fn new(base: &str, key: Option<String>) -> Result<Client, Failure> {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // losing a race with another installer is fine: one is installed either way
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let base = normalize_base(base);
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Failure::Usage(format!("the API URL must start with http:// or https://, not {base:?}")));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("prikke-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Failure::Local(format!("cannot set up HTTPS: {e}")))?;
        Ok(Client { http, base, key })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request to `path` (under the base URL) and returns the JSON answer (`Null` for 204).
    pub async fn send(&self, method: reqwest::Method, path: &str, query: &[(&str, String)], body: Option<&Value>) -> Result<Value, Failure> {
        let key = self.key.as_deref().ok_or(Failure::NoKey)?;
        let mut url = url::Url::parse(&format!("{}{path}", self.base)).map_err(|e| Failure::Usage(format!("{} is not a usable API URL: {e}", self.base)))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut req = self.http.request(method, url).bearer_auth(key).header("accept", "application/json, application/problem+json");
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req.send().await.map_err(|e| Failure::Network(describe_network_error(&self.base, &e)))?;
        let status = res.status();
        let retry_after = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = res.bytes().await.map_err(|e| Failure::Network(format!("the answer from {} could not be read: {e}", self.base)))?;
        if status.is_success() {
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&bytes).map_err(|_| {
                Failure::Network(format!("{} answered {status} with something that is not JSON; is the API URL right?", self.base))
            });
        }
        let problem = serde_json::from_slice::<Problem>(&bytes).unwrap_or_else(|_| Problem {
            title: status.canonical_reason().unwrap_or("Request failed").to_owned(),
            detail: String::from_utf8_lossy(&bytes).chars().take(300).collect(),
            ..Problem::default()
        });
        Err(Failure::Api { status: status.as_u16(), problem, retry_after })
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, Failure> {
        self.send(reqwest::Method::GET, path, query, None).await
    }

    pub async fn post(&self, path: &str, body: Option<&Value>) -> Result<Value, Failure> {
        self.send(reqwest::Method::POST, path, &[], body).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, Failure> {
        self.send(reqwest::Method::DELETE, path, &[], None).await
    }

    /// Every page of a list (`data` + `next_cursor`) from `cursor` on, or only the first when
    /// `all` is false; returns the items and the cursor after the last page fetched.
    pub async fn list(&self, path: &str, mut query: Vec<(&str, String)>, limit: Option<u32>, cursor: Option<String>, all: bool) -> Result<(Vec<Value>, Option<String>), Failure> {
        // following every page: the largest pages, fewest requests
        if let Some(limit) = limit.or(all.then_some(100)) {
            query.push(("limit", limit.to_string()));
        }
        let mut cursor = cursor;
        let mut items = Vec::new();
        loop {
            let mut q = query.clone();
            if let Some(c) = &cursor {
                q.push(("cursor", c.clone()));
            }
            let page = self.get(path, &q).await?;
            if let Some(data) = page.get("data").and_then(Value::as_array) {
                items.extend(data.iter().cloned());
            }
            let next = page.get("next_cursor").and_then(Value::as_str).map(str::to_owned);
            if next.is_some() && next == cursor {
                return Err(Failure::Network(format!("{path} answered the same next_cursor twice; stopped following it")));
            }
            cursor = next;
            if !all || cursor.is_none() {
                return Ok((items, cursor));
            }
        }
    }
}

/// Says what went wrong connecting, without the key (reqwest's errors carry the URL only).
fn describe_network_error(base: &str, e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "did not answer in time"
    } else if e.is_connect() {
        "could not be reached"
    } else {
        "failed"
    };
    let mut msg = format!("the API at {base} {what}");
    let mut source = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    if let Some(cause) = last {
        msg.push_str(&format!(": {cause}"));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalized() {
        assert_eq!(normalize_base("https://prikke.eu/"), "https://prikke.eu");
        assert_eq!(normalize_base("https://prikke.eu/api/v1/"), "https://prikke.eu");
        assert_eq!(normalize_base(" http://127.0.0.1:8080 "), "http://127.0.0.1:8080");
    }

    #[test]
    fn exit_codes_follow_the_status() {
        let api = |status: u16, slug: &str| Failure::Api {
            status,
            problem: Problem { type_uri: format!("https://prikke.eu/problems/{slug}"), ..Problem::default() },
            retry_after: None,
        };
        assert_eq!(api(422, "validation").exit_code(), exit::API);
        assert_eq!(api(404, "not-found").exit_code(), exit::API);
        assert_eq!(api(401, "unauthorized").exit_code(), exit::AUTH);
        assert_eq!(api(403, "not-through-edge").exit_code(), exit::AUTH);
        assert_eq!(api(403, "job-limit-reached").exit_code(), exit::API);
        assert_eq!(api(503, "unavailable").exit_code(), exit::NETWORK);
        assert_eq!(Failure::Network("x".into()).exit_code(), exit::NETWORK);
        assert_eq!(Failure::Usage("x".into()).exit_code(), exit::USAGE);
        assert_eq!(Failure::NoKey.exit_code(), exit::AUTH);
    }
}
