//! The [`Deliverer`]: one pooled HTTP client per process, and the flow of one delivery —
//! prepare (guard, headers, signature), then send and capture within the hard timeout.

use std::sync::{Arc, Once};
use std::time::Instant;

use chrono::Utc;
use domain::retry::{AttemptOutcome, parse_retry_after};
use domain::signing::{HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, SigningSecret, signature_header};
use reqwest::header::{
    CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue,
    RETRY_AFTER, TRANSFER_ENCODING,
};
use reqwest::{Method, Url};

use super::capture::{BodyCapture, capture_headers};
use super::failure::{Phase, failure_outcome, resolve_failure_outcome, timeout_message};
use super::guarded_resolver::GuardedResolver;
use super::host_limit::{HostLimiter, HostPermit};
use super::ssrf::{TargetGuard, refused_name_message, reserved_name_addresses};
use super::{Delivery, DeliveryConfig, DeliveryRequest};

/// Why the deliverer could not be built (a configuration problem, reported at start-up).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryInitError {
    #[error("the user agent {0:?} is not a valid header value")]
    UserAgent(String),
    #[error("an extra root certificate is not valid PEM: {0}")]
    Certificate(#[source] reqwest::Error),
    #[error("the HTTP client could not be built: {0}")]
    Client(#[source] reqwest::Error),
}

/// Performs deliveries. Cheap to clone (one `Arc`); build one per process so every delivery
/// shares the connection pool and the per-host limits.
#[derive(Debug, Clone)]
pub struct Deliverer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    guard: Arc<TargetGuard>,
    /// The client's resolver, also asked before sending for the address a name leads to.
    resolver: GuardedResolver,
    /// Names resolved to fixed addresses by configuration (as the client resolves them).
    fixed: std::collections::HashMap<String, std::net::SocketAddr>,
    limiter: HostLimiter,
    body_cap: usize,
}

/// A delivery checked, built and signed ahead of sending ([`Deliverer::prepare`]), so the work
/// can be done while a run waits for its instant and only the exchange is left at it.
#[derive(Debug)]
pub struct Prepared {
    /// The request and its host, or why it is refused (a sentence for the history).
    checked: Result<(reqwest::Request, Host), String>,
    timeout: std::time::Duration,
    timestamp: i64,
}

impl Prepared {
    /// The `webhook-timestamp` it was signed with.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// Signs it again for `timestamp` (it is sent in a later second than it was prepared for),
    /// with the same message id, body and `secrets` as when it was prepared.
    pub fn resign(&mut self, secrets: &[SigningSecret], timestamp: i64) {
        self.timestamp = timestamp;
        if let Ok((request, _)) = &mut self.checked {
            sign_again(request, secrets, timestamp);
        }
    }
}

/// Signs a built request again for `timestamp`, over its own message id and body.
fn sign_again(request: &mut reqwest::Request, secrets: &[SigningSecret], timestamp: i64) {
    let id = request.headers().get(HEADER_ID).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let body = request.body().and_then(|b| b.as_bytes()).unwrap_or_default();
    let signature = signature_value(secrets, id, timestamp, body);
    set_signature(request.headers_mut(), timestamp, signature);
}

/// The `webhook-signature` value for these secrets (`None` without any).
fn signature_value(secrets: &[SigningSecret], message_id: &str, timestamp: i64, body: &[u8]) -> Option<HeaderValue> {
    let signature = signature_header(secrets, message_id, timestamp, body);
    (!signature.is_empty())
        .then(|| HeaderValue::try_from(signature).unwrap_or_else(|_| unreachable!("signatures are base64 ASCII")))
}

fn set_signature(headers: &mut HeaderMap, timestamp: i64, signature: Option<HeaderValue>) {
    headers.insert(HeaderName::from_static(HEADER_TIMESTAMP), HeaderValue::from(timestamp));
    if let Some(signature) = signature {
        headers.insert(HeaderName::from_static(HEADER_SIGNATURE), signature);
    }
}

/// Where a delivery goes: `host:port` as messages show it, the key of its per-host limit, and
/// the name whose address is limited too (none for an IP literal: its key is the address).
#[derive(Debug, Clone)]
struct Host {
    shown: String,
    limit_key: String,
    name: Option<String>,
}

/// A prepared delivery holding a slot to its host ([`Deliverer::take_slot`]).
#[derive(Debug)]
pub struct Slotted {
    request: reqwest::Request,
    host: Host,
    /// The slot for the host's registrable domain (or IP literal), and for the address its name
    /// resolved to when that is another key.
    permits: (HostPermit, Option<HostPermit>),
    timeout: std::time::Duration,
    /// What the wait for the slot left of the timeout (a wait for anything else does not count).
    left: std::time::Duration,
    timestamp: i64,
}

impl Slotted {
    /// The `webhook-timestamp` it was signed with.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// Signs it again for `timestamp`, as [`Prepared::resign`].
    pub fn resign(&mut self, secrets: &[SigningSecret], timestamp: i64) {
        self.timestamp = timestamp;
        sign_again(&mut self.request, secrets, timestamp);
    }
}

fn finished(started_at: chrono::DateTime<Utc>, clock: Instant, outcome: AttemptOutcome, error: Option<String>, received: Received) -> Delivery {
    let (body, truncated) = match received.body {
        Some(body) => {
            let (text, truncated) = body.finish();
            (Some(text), truncated)
        }
        None => (None, false),
    };
    Delivery {
        outcome,
        started_at,
        duration: clock.elapsed(),
        response_status: received.status,
        response_headers: received.headers,
        response_body: body,
        body_truncated: truncated,
        error,
    }
}

/// What arrived of the response, kept outside the timed future so a timeout keeps it.
#[derive(Default)]
struct Received {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    retry_after: Option<String>,
    body: Option<BodyCapture>,
}

/// Installs ring as rustls' process-wide crypto provider unless one is installed already.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race with another installer is fine: a provider is installed either way.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}

impl Deliverer {
    pub fn new(cfg: DeliveryConfig) -> Result<Self, DeliveryInitError> {
        install_crypto_provider();
        let user_agent = HeaderValue::from_str(&cfg.user_agent)
            .map_err(|_| DeliveryInitError::UserAgent(cfg.user_agent.clone()))?;
        let guard = Arc::new(TargetGuard::new(cfg.allow_targets.clone()).with_ports(cfg.allow_ports.clone()));
        let resolver = GuardedResolver::new(Arc::clone(&guard));
        let mut builder = reqwest::Client::builder()
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .referer(false)
            .dns_resolver(Arc::new(resolver.clone()))
            .pool_max_idle_per_host(cfg.pool_idle_per_host)
            .pool_idle_timeout(cfg.pool_idle_timeout)
            .connect_timeout(cfg.connect_timeout)
            .tcp_nodelay(true);
        for (host, addr) in &cfg.resolve {
            builder = builder.resolve(host, *addr);
        }
        for pem in &cfg.extra_root_certificates_pem {
            let cert =
                reqwest::Certificate::from_pem(pem).map_err(DeliveryInitError::Certificate)?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder.build().map_err(DeliveryInitError::Client)?;
        Ok(Deliverer {
            inner: Arc::new(Inner {
                client,
                guard,
                resolver,
                fixed: cfg.resolve.iter().cloned().collect(),
                limiter: HostLimiter::new(cfg.per_host_concurrency),
                body_cap: cfg.response_body_cap,
            }),
        })
    }

    /// The per-host limiter, for metrics and tests.
    pub fn host_limiter(&self) -> &HostLimiter {
        &self.inner.limiter
    }

    /// Makes one delivery attempt. Never fails: every problem is an [`AttemptOutcome`].
    pub async fn deliver(&self, req: &DeliveryRequest<'_>) -> Delivery {
        self.send(self.prepare(req)).await
    }

    /// Checks, builds and signs a delivery without any I/O; [`Deliverer::send`] makes it.
    pub fn prepare(&self, req: &DeliveryRequest<'_>) -> Prepared {
        Prepared { checked: self.check_and_build(req), timeout: req.timeout, timestamp: req.timestamp }
    }

    /// Makes a prepared delivery attempt. Never fails: every problem is an [`AttemptOutcome`].
    pub async fn send(&self, prepared: Prepared) -> Delivery {
        match self.take_slot(prepared).await {
            Ok(slotted) => self.send_slotted(slotted).await,
            Err(done) => done,
        }
    }

    /// Waits for a slot to the delivery's host, within its timeout (the wait counts against it):
    /// one for its registrable domain, then, for a name, one for the address it resolves to, so
    /// many names (or sites) pointed at one server share that server's cap. `Err` is the
    /// delivery's outcome without sending: refused, unresolvable, or timed out waiting. A caller
    /// that takes the slot before anything shared (the dispatcher's delivery permit) keeps runs
    /// aimed at a slow host from holding what runs to other hosts need.
    ///
    /// Slots are always taken domain first, address second, and a holder of an address slot
    /// waits for nothing else, so two deliveries never wait for each other's slots.
    pub async fn take_slot(&self, prepared: Prepared) -> Result<Slotted, Delivery> {
        let started_at = Utc::now();
        let clock = Instant::now();
        let (request, host) = match prepared.checked {
            Ok(checked) => checked,
            Err(message) => {
                let outcome = AttemptOutcome::Refused { message: message.clone() };
                return Err(finished(started_at, clock, outcome, Some(message), Received::default()));
            }
        };
        let waited = |key: &str| {
            let message = timeout_message(Phase::WaitingForSlot, prepared.timeout, key, self.inner.limiter.per_host());
            finished(started_at, clock, AttemptOutcome::Timeout, Some(message), Received::default())
        };
        let Ok(permit) = tokio::time::timeout(prepared.timeout, self.inner.limiter.acquire(&host.limit_key)).await else {
            return Err(waited(&host.limit_key));
        };
        let address = match &host.name {
            None => None,
            Some(name) => match tokio::time::timeout(prepared.timeout.saturating_sub(clock.elapsed()), self.address_of(name)).await {
                Ok(Ok(ip)) => Some(ip.to_string()).filter(|key| *key != host.limit_key),
                Ok(Err(err)) => {
                    let outcome = resolve_failure_outcome(err.as_ref(), &host.shown);
                    return Err(finished(started_at, clock, outcome.clone(), sentence(&outcome), Received::default()));
                }
                Err(_) => {
                    let message = timeout_message(Phase::AwaitingResponse, prepared.timeout, &host.shown, self.inner.limiter.per_host());
                    return Err(finished(started_at, clock, AttemptOutcome::Timeout, Some(message), Received::default()));
                }
            },
        };
        let address_permit = match address {
            None => None,
            Some(key) => match tokio::time::timeout(prepared.timeout.saturating_sub(clock.elapsed()), self.inner.limiter.acquire(&key)).await {
                Ok(permit) => Some(permit),
                Err(_) => return Err(waited(&key)),
            },
        };
        let left = prepared.timeout.saturating_sub(clock.elapsed());
        Ok(Slotted { request, host, permits: (permit, address_permit), timeout: prepared.timeout, left, timestamp: prepared.timestamp })
    }

    /// The first address a name leads to (as the client will connect: fixed by configuration,
    /// or the resolver's vetted answer, which the connection then reuses).
    async fn address_of(&self, name: &str) -> Result<std::net::IpAddr, Box<dyn std::error::Error + Send + Sync>> {
        if let Some(addr) = self.inner.fixed.get(name) {
            return Ok(addr.ip());
        }
        let addrs = self.inner.resolver.vetted_addresses(name).await?;
        Ok(addrs[0].ip())
    }

    /// Sends a delivery that holds its host slot, within what is left of its timeout.
    pub async fn send_slotted(&self, slotted: Slotted) -> Delivery {
        let Slotted { request, host, permits, timeout, left, .. } = slotted;
        let (started_at, clock) = (Utc::now(), Instant::now());
        let mut phase = Phase::AwaitingResponse;
        let mut received = Received::default();
        let exchange = self.exchange(request, &mut phase, &mut received);
        let result = tokio::time::timeout(left, exchange).await;
        drop(permits);
        match result {
            Ok(Ok(())) => {
                let status = received.status.unwrap_or_default();
                let retry_after = received
                    .retry_after
                    .as_deref()
                    .and_then(|v| parse_retry_after(v, Utc::now()));
                let outcome = AttemptOutcome::from_response(status, retry_after);
                finished(started_at, clock, outcome, None, received)
            }
            Ok(Err(err)) => {
                let outcome = failure_outcome(&err, phase, &host.shown);
                let message = sentence(&outcome);
                finished(started_at, clock, outcome, message, received)
            }
            Err(_elapsed) => {
                let per_host = self.inner.limiter.per_host();
                let message = timeout_message(phase, timeout, &host.shown, per_host);
                finished(started_at, clock, AttemptOutcome::Timeout, Some(message), received)
            }
        }
    }

    /// Sends, and reads the capped body, recording progress as it goes.
    async fn exchange(
        &self,
        request: reqwest::Request,
        phase: &mut Phase,
        received: &mut Received,
    ) -> Result<(), reqwest::Error> {
        *phase = Phase::AwaitingResponse;
        let mut response = self.inner.client.execute(request).await?;
        received.status = Some(response.status().as_u16());
        received.headers = capture_headers(response.headers());
        received.retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        *phase = Phase::ReadingBody;
        let body = received.body.insert(BodyCapture::new(
            self.inner.body_cap,
            response.content_length(),
        ));
        while let Some(chunk) = response.chunk().await? {
            if !body.push(&chunk) {
                break;
            }
        }
        Ok(())
    }

    /// Checks and builds the request without any I/O. `Err` is a refusal sentence.
    fn check_and_build(&self, req: &DeliveryRequest<'_>) -> Result<(reqwest::Request, Host), String> {
        let method = parse_method(req.method)?;
        let url =
            Url::parse(req.url).map_err(|e| format!("refused: the URL is not valid ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "refused: the URL scheme is \"{}\"; only http and https are allowed",
                url.scheme()
            ));
        }
        let host = self.check_host(&url)?;

        let body = req.body.unwrap_or("");
        let mut headers = HeaderMap::with_capacity(req.headers.len() + 4);
        for (name, value) in req.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("refused: {name:?} is not a valid header name"))?;
            if [HOST, CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION].contains(&name) {
                continue;
            }
            // The value may be a credential: name the header, never the value.
            let value = HeaderValue::from_str(value).map_err(|_| {
                format!("refused: the value of the {name} header contains characters HTTP does not allow")
            })?;
            headers.append(name, value);
        }
        if !body.is_empty() && !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let id = HeaderValue::from_str(req.message_id)
            .map_err(|_| "refused: the message id is not a valid header value".to_owned())?;
        headers.insert(HeaderName::from_static(HEADER_ID), id);
        let signature = signature_value(req.secrets, req.message_id, req.timestamp, body.as_bytes());
        set_signature(&mut headers, req.timestamp, signature);

        let mut builder = self.inner.client.request(method, url).headers(headers);
        if let Some(body) = req.body {
            builder = builder.body(body.to_owned());
        }
        let request = builder.build().map_err(|e| {
            format!(
                "refused: the request could not be built ({})",
                e.without_url()
            )
        })?;
        Ok((request, host))
    }

    /// Refuses IP-literal hosts and reserved names the guard does not allow (IP literals never
    /// reach the resolver); returns the host as shown and as the per-host limit counts it.
    fn check_host(&self, url: &Url) -> Result<Host, String> {
        self.inner.guard.check_port(url.port())?;
        let port = url.port_or_known_default().unwrap_or(0);
        let host = url
            .host()
            .ok_or_else(|| "refused: the URL has no host".to_owned())?;
        match host {
            url::Host::Ipv4(ip) => self
                .inner
                .guard
                .check(ip.into())
                .map_err(|r| r.to_string())?,
            url::Host::Ipv6(ip) => self
                .inner
                .guard
                .check(ip.into())
                .map_err(|r| r.to_string())?,
            url::Host::Domain(name) => {
                if let Some(addrs) = reserved_name_addresses(name) {
                    let refused: Vec<_> = addrs
                        .iter()
                        .filter_map(|ip| self.inner.guard.check(*ip).err())
                        .collect();
                    if refused.len() == addrs.len() {
                        return Err(refused_name_message(name, &refused));
                    }
                }
            }
        }
        // `host_str` keeps the brackets of an IPv6 literal: `[::1]:8080`.
        let shown = format!("{}:{port}", url.host_str().unwrap_or_default());
        let name = match host {
            url::Host::Domain(name) => Some(name.to_owned()),
            url::Host::Ipv4(_) | url::Host::Ipv6(_) => None,
        };
        Ok(Host { shown, limit_key: limit_key(&host), name })
    }
}

/// The per-host limit's key of a URL's host, without a lookup ("" when the URL has no host:
/// such a run is refused when it is prepared).
pub fn site_key(url: &str) -> String {
    Url::parse(url).ok().and_then(|u| u.host().map(|h| limit_key(&h))).unwrap_or_default()
}

/// The per-host limit's key: a name's registrable domain (`a.example.com`, `b.example.com:8443`
/// and `example.com` share one, so subdomains and ports do not multiply the cap), an IP literal
/// itself.
fn limit_key(host: &url::Host<&str>) -> String {
    match host {
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            psl::domain_str(&name).map_or_else(|| name.clone(), str::to_owned)
        }
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => ip.to_string(),
    }
}

/// The sentence a failed attempt's outcome carries (a network failure's or a refusal's), for
/// the delivery's `error`.
fn sentence(outcome: &AttemptOutcome) -> Option<String> {
    match outcome {
        AttemptOutcome::Network { message } | AttemptOutcome::Refused { message } => Some(message.clone()),
        _ => None,
    }
}

fn parse_method(method: &str) -> Result<Method, String> {
    [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
    ]
    .into_iter()
    .find(|m| m.as_str().eq_ignore_ascii_case(method))
    .ok_or_else(|| {
        format!("refused: {method:?} is not a supported method; use GET, POST, PUT, PATCH, DELETE or HEAD")
    })
}

#[cfg(test)]
mod tests {
    use super::limit_key;

    fn key(url: &str) -> String {
        let url = url::Url::parse(url).unwrap();
        limit_key(&url.host().unwrap())
    }

    #[test]
    fn subdomains_and_ports_of_one_site_share_a_limit_key() {
        assert_eq!(key("https://a.example.com/x"), "example.com");
        assert_eq!(key("https://b.example.com:8443/"), "example.com");
        assert_eq!(key("https://EXAMPLE.com./"), "example.com");
        assert_eq!(key("https://x.y.example.co.uk/"), "example.co.uk", "the registrable domain, by the public suffix list");
        assert_ne!(key("https://alice.github.io/"), key("https://bob.github.io/"), "sites under a public suffix are apart");
        assert_eq!(key("http://127.0.0.1:8080/"), "127.0.0.1");
        assert_eq!(key("http://[::1]:8080/"), "::1");
        assert_ne!(key("http://a.localhost/"), key("http://b.localhost/"), "two names the address limit joins");
    }
}
