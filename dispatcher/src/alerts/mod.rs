//! Alerts that reach people: the sender that works the outbox (`store::outbox`). Every instance
//! runs one; they share the work through `SKIP LOCKED` claims under a lease, like job runs, but
//! with their own HTTP client, connection pool and concurrency, so alerts never take a job
//! delivery's permit and job deliveries never wait for an alert.
//!
//! ```text
//!   every poll (or at once after a full claim):
//!     fan_out: new alert events ──► one pending send per channel that takes the event
//!     claim: due sends, leased ──► plan per channel:
//!        ├─ held sends present ─────────────────────► one digest of everything claimed for it
//!        ├─ within MESSAGES_PER_WINDOW ─────────────► one message each
//!        └─ beyond it ──────────────────────────────► held until the window ends (then a digest)
//!     send (no transaction open), each within SEND_TIMEOUT, ALERT_CONCURRENCY at a time
//!     record: sent │ retry at now + retry_delay(attempts) │ failed after RETRY_FOR │ held
//! ```
//!
//! A crash between claim and record leaves the sends leased; when the lease expires another
//! instance (or this one, restarted) sends them again under the same id. Test messages are sent
//! alone, once, whatever the digest rule says.

mod account_mail;
pub mod email;
pub mod render;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::notification::{ChannelTarget, DIGEST_WINDOW, FIRST_RETRY, Flavor, MESSAGES_PER_WINDOW, RETRY_FOR, retry_delay};
use domain::retry::AttemptOutcome;
use sqlx::PgPool;
use store::outbox::{ChannelRecent, Send, SendOutcome};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::delivery::{Deliverer, DeliveryRequest};
use crate::secrets::SecretCache;
use email::Mailer;
use render::Summary;

/// The longest one webhook call or SMTP exchange may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Sends claimed at once.
const CLAIM_BATCH: i64 = 500;
/// Alert events fanned out per statement.
const FAN_OUT_BATCH: i64 = 1_000;

/// How the sender runs (`PRIKKE_ALERT_*`, `PRIKKE_PUBLIC_URL`).
#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub poll: Duration,
    pub concurrency: usize,
    pub lease: Duration,
    pub digest_window: Duration,
    /// The wait after a send's first failure (tripled after each further one).
    pub first_retry: Duration,
    /// Base of the links in messages (the execution in the API, the unsubscribe page).
    pub public_url: String,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            poll: Duration::from_millis(500),
            concurrency: 8,
            lease: Duration::from_secs(60),
            digest_window: DIGEST_WINDOW,
            first_retry: FIRST_RETRY,
            public_url: "http://127.0.0.1:8080".to_owned(),
        }
    }
}

/// Everything the sender needs.
pub struct Sender {
    pub pool: PgPool,
    pub me: String,
    pub clock: SharedClock,
    /// Its own client: alert sends share nothing with job deliveries.
    pub deliverer: Deliverer,
    pub mailer: Option<Mailer>,
    pub secrets: Arc<SecretCache>,
    pub settings: AlertSettings,
    /// Signalled when this process raises alerts (the recorder, the leader's chores): the next
    /// round starts at once instead of at the next poll. Alerts raised elsewhere (another
    /// instance, the API) wait for the poll.
    pub raised: Arc<tokio::sync::Notify>,
}

/// Runs until `shutdown`; a batch being sent is finished and recorded first.
pub async fn run(sender: Sender, shutdown: CancellationToken) {
    let sender = Arc::new(sender);
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        let rounds = async { Ok::<_, store::StoreError>(round(&sender).await? + account_mail::round(&sender).await?) };
        match rounds.await {
            Ok(claimed) => {
                backoff = Duration::from_millis(200);
                if claimed < CLAIM_BATCH as usize {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(sender.settings.poll) => {}
                        _ = sender.raised.notified() => {}
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "alert sender: a round failed; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// One round: fan out, claim, plan, send, record. Returns how many sends were claimed.
async fn round(s: &Arc<Sender>) -> Result<usize, store::StoreError> {
    let now = s.clock.now();
    let fanned = store::outbox::fan_out(&s.pool, now, FAN_OUT_BATCH).await?;
    if fanned > 0 {
        metrics::counter!("prikke_alert_events_total").increment(fanned);
    }
    let lease = chrono::Duration::from_std(s.settings.lease).unwrap_or(chrono::Duration::seconds(60));
    let mut tx = s.pool.begin().await?;
    let sends = store::outbox::claim(&mut tx, &s.me, now, lease, CLAIM_BATCH).await?;
    tx.commit().await?;
    if sends.is_empty() {
        return Ok(0);
    }
    let claimed = sends.len();
    let channels: Vec<Uuid> = sends.iter().map(|x| x.channel_id).collect();
    let window = chrono::Duration::from_std(s.settings.digest_window).unwrap_or(chrono::Duration::seconds(60));
    let recent: HashMap<Uuid, ChannelRecent> =
        store::outbox::recent_messages(&s.pool, &channels, now - window).await?.into_iter().map(|r| (r.channel_id, r)).collect();
    s.secrets.refresh(&s.pool, sends.iter().map(|x| x.org_id), now).await?;

    let mut outcomes: Vec<(Uuid, SendOutcome)> = Vec::with_capacity(claimed);
    let mut messages = tokio::task::JoinSet::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(s.settings.concurrency.max(1)));
    for planned in plan(sends, &recent, now, window) {
        match planned {
            Planned::Hold(send, until) => outcomes.push((send.id, SendOutcome::Held { until })),
            Planned::Message(group) => {
                let (s, permits) = (Arc::clone(s), Arc::clone(&permits));
                messages.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    deliver(&s, group).await
                });
            }
        }
    }
    while let Some(done) = messages.join_next().await {
        match done {
            Ok(mut o) => outcomes.append(&mut o),
            Err(e) => tracing::error!(error = %e, "alert sender: a send task failed; its sends are retried when their lease expires"),
        }
    }
    let written = store::outbox::record(&s.pool, &s.me, &outcomes, s.clock.now()).await?;
    if written < outcomes.len() as u64 {
        tracing::warn!(lost = outcomes.len() as u64 - written, "alert sends whose lease had expired were not recorded (they are sent again)");
    }
    Ok(claimed)
}

/// What to do with claimed sends.
#[derive(Debug)]
enum Planned {
    /// One message: a single send, or a digest of several (oldest first).
    Message(Vec<Send>),
    /// Held back by the digest rule until the instant.
    Hold(Send, DateTime<Utc>),
}

/// Applies the digest rule per channel (see the module docs). `recent` holds, per channel, the
/// messages sent within the window and when the oldest of them went.
fn plan(sends: Vec<Send>, recent: &HashMap<Uuid, ChannelRecent>, now: DateTime<Utc>, window: chrono::Duration) -> Vec<Planned> {
    let mut out = Vec::new();
    let mut per_channel: Vec<(Uuid, Vec<Send>)> = Vec::new();
    for send in sends {
        if send.alert.is_none() {
            out.push(Planned::Message(vec![send])); // a test: alone, whatever the rule says
            continue;
        }
        match per_channel.iter_mut().find(|(c, _)| *c == send.channel_id) {
            Some((_, group)) => group.push(send),
            None => per_channel.push((send.channel_id, vec![send])),
        }
    }
    for (channel, mut group) in per_channel {
        group.sort_by_key(|s| (s.created_at, s.id));
        if group.iter().any(|s| s.held) {
            out.push(Planned::Message(group));
            continue;
        }
        let r = recent.get(&channel);
        let (sent, oldest) = (r.map_or(0, |r| r.sent), r.and_then(|r| r.oldest_sent_at).unwrap_or(now));
        // while a digest waits, every new alert of the channel joins it: one digest per window
        let (allowance, until) = match r.and_then(|r| r.held_until) {
            Some(waiting) => (0, waiting),
            None => ((i64::from(MESSAGES_PER_WINDOW) - sent).max(0) as usize, oldest.min(now) + window),
        };
        let rest = group.split_off(allowance.min(group.len()));
        out.extend(group.into_iter().map(|s| Planned::Message(vec![s])));
        out.extend(rest.into_iter().map(|s| Planned::Hold(s, until)));
    }
    out
}

/// Sends one message (a single send or a digest) and says what became of each send in it.
async fn deliver(s: &Sender, group: Vec<Send>) -> Vec<(Uuid, SendOutcome)> {
    let now = s.clock.now();
    let first = &group[0];
    // A send claimed before its organization's deletion was requested may have waited here for a
    // send permit since: the deletion gave it up in the database, and it is not sent. (Read from
    // the database, not the pump's set: alerts are few, and the answer is then exact.)
    match store::erasure::deleting(&s.pool).await {
        Ok(deleting) if deleting.contains(&first.org_id) => {
            tracing::info!(delivery_id = %first.id, org_id = %first.org_id, "the organization is being deleted; alert not sent");
            return group.iter().map(|send| (send.id, SendOutcome::GaveUp { error: store::erasure::NOT_SENT.to_owned(), response_status: None })).collect();
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(delivery_id = %first.id, error = %e, "could not check for the organization's deletion; sending"),
    }
    let summary = match (&group[..], &first.alert) {
        ([one], Some(alert)) => render::alert(one, alert, &s.settings.public_url),
        ([_], None) => render::test(first, now),
        (many, _) => render::digest(&many.iter().collect::<Vec<_>>(), now),
    };
    let result = send_to(s, first, &summary).await;
    let flavor = first.target.flavor();
    let label = flavor_label(flavor);
    match &result {
        Ok(_) => {
            metrics::counter!("prikke_alerts_sent_total", "flavor" => label).increment(1);
            if group.len() > 1 {
                metrics::counter!("prikke_alert_digests_total").increment(1);
            }
            for send in &group {
                if let Some(alert) = &send.alert {
                    let lag = (now - alert.raised_at).num_milliseconds().max(0) as f64 / 1000.0;
                    metrics::histogram!("prikke_alert_lag_seconds").record(lag);
                }
            }
            tracing::info!(delivery_id = %first.id, org_id = %first.org_id, channel_id = %first.channel_id, sends = group.len(), flavor = label, "alert sent");
        }
        Err((error, _)) => {
            metrics::counter!("prikke_alert_failures_total", "flavor" => label).increment(1);
            tracing::warn!(delivery_id = %first.id, org_id = %first.org_id, channel_id = %first.channel_id, attempts = first.attempts, %error, "alert send failed");
        }
    }
    let sent_as = summary.id.uuid();
    group
        .iter()
        .map(|send| {
            let outcome = match &result {
                Ok(code) => SendOutcome::Sent { sent_as, response_status: *code },
                Err((error, code)) if send.alert.is_none() || now - send.created_at >= chrono::Duration::from_std(RETRY_FOR).unwrap_or_default() => {
                    SendOutcome::GaveUp { error: error.clone(), response_status: *code }
                }
                Err((error, code)) => {
                    let wait = chrono::Duration::from_std(retry_delay(s.settings.first_retry, u32::try_from(send.attempts).unwrap_or(1))).unwrap_or_default();
                    SendOutcome::Retry { at: now + wait, error: error.clone(), response_status: *code }
                }
            };
            (send.id, outcome)
        })
        .collect()
}

fn flavor_label(f: Flavor) -> &'static str {
    match f {
        Flavor::Email => "email",
        Flavor::Slack => "slack",
        Flavor::Discord => "discord",
        Flavor::Webhook => "webhook",
    }
}

/// One message to one target: the response status (webhooks) or the failure with what is known.
async fn send_to(s: &Sender, send: &Send, summary: &Summary) -> Result<Option<i16>, (String, Option<i16>)> {
    match &send.target {
        ChannelTarget::Email(address) => {
            let Some(mailer) = &s.mailer else {
                return Err(("e-mail is not set up on this server (PRIKKE_SMTP_URL)".to_owned(), None));
            };
            let unsubscribe = format!("{}/app/unsubscribe/{}", s.settings.public_url, send.unsubscribe_token);
            match tokio::time::timeout(SEND_TIMEOUT, mailer.send(address.as_str(), summary, &unsubscribe)).await {
                Ok(Ok(())) => Ok(None),
                Ok(Err(e)) => Err((e, None)),
                Err(_) => Err((format!("SMTP: no answer within {} s", SEND_TIMEOUT.as_secs()), None)),
            }
        }
        ChannelTarget::Webhook(url) => {
            let flavor = send.target.flavor();
            let payload = match flavor {
                Flavor::Slack => render::slack(summary),
                Flavor::Discord => render::discord(summary),
                Flavor::Webhook | Flavor::Email => render::generic(summary, send),
            };
            let body = payload.to_string();
            // Slack and Discord know nothing of Standard Webhooks; a generic receiver verifies it
            let secrets = if flavor == Flavor::Webhook { s.secrets.get(send.org_id) } else { Arc::from([]) };
            let headers = [("content-type".to_owned(), "application/json".to_owned())];
            let d = s
                .deliverer
                .deliver(&DeliveryRequest {
                    message_id: &summary.id.to_string(),
                    method: "POST",
                    url: url.as_str(),
                    headers: &headers,
                    body: Some(&body),
                    timeout: SEND_TIMEOUT,
                    secrets: &secrets,
                    timestamp: s.clock.now().timestamp(),
                })
                .await;
            let code = d.response_status.map(|c| c as i16);
            match d.outcome {
                AttemptOutcome::Success { .. } => Ok(code),
                AttemptOutcome::HttpStatus { status, .. } => Err((format!("the endpoint answered HTTP {status}"), code)),
                _ => Err((d.error.unwrap_or_else(|| "the call failed".to_owned()), code)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use domain::alert::AlertKind;
    use domain::notification::ChannelKind;
    use store::outbox::Alert;

    fn t(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, s).unwrap()
    }

    fn send(channel: u128, n: u32, held: bool) -> Send {
        Send {
            id: Uuid::from_u128(u128::from(n) + 1000 * channel),
            org_id: Uuid::nil(),
            org_name: "Acme".into(),
            channel_id: Uuid::from_u128(channel),
            channel_name: None,
            target: ChannelTarget::parse(ChannelKind::Webhook, "https://example.com/a").unwrap(),
            unsubscribe_token: "t".into(),
            attempts: 1,
            held,
            created_at: t(n),
            alert: Some(Alert {
                id: Uuid::nil(),
                kind: AlertKind::JobFailed,
                job: None,
                monitor: None,
                execution_id: None,
                details: serde_json::json!({}),
                raised_at: t(n),
            }),
        }
    }

    fn recent_of(channel: u128, sent: i64, oldest_sent_at: Option<DateTime<Utc>>, held_until: Option<DateTime<Utc>>) -> ChannelRecent {
        ChannelRecent { channel_id: Uuid::from_u128(channel), sent, oldest_sent_at, held_until }
    }

    fn shape(p: &[Planned]) -> Vec<String> {
        p.iter()
            .map(|p| match p {
                Planned::Message(g) => format!("msg{:?}", g.iter().map(|s| s.id.as_u128() % 1000).collect::<Vec<_>>()),
                Planned::Hold(s, until) => format!("hold{} until {}", s.id.as_u128() % 1000, until.format("%S")),
            })
            .collect()
    }

    #[test]
    fn the_first_messages_go_alone_and_the_rest_wait_for_one_digest() {
        let window = chrono::Duration::seconds(60);
        let sends: Vec<Send> = (1..=5).map(|n| send(1, n, false)).collect();
        let p = plan(sends, &HashMap::new(), t(10), window);
        assert_eq!(shape(&p), vec!["msg[1]", "msg[2]", "msg[3]", "hold4 until 10", "hold5 until 10"]);
        // a channel that had two messages in the window, the oldest at :05, gets one more now
        let recent = HashMap::from([(Uuid::from_u128(1), recent_of(1, 2, Some(t(5)), None))]);
        let p = plan(vec![send(1, 6, false), send(1, 7, false)], &recent, t(10), window);
        assert_eq!(shape(&p), vec!["msg[6]", "hold7 until 05"]);
        // while a digest waits (until :40), later alerts join it, whatever the count says
        let recent = HashMap::from([(Uuid::from_u128(1), recent_of(1, 1, Some(t(20)), Some(t(40))))]);
        let p = plan(vec![send(1, 21, false)], &recent, t(30), window);
        assert_eq!(shape(&p), vec!["hold21 until 40"]);
        // held sends go out together, with whatever else is due for that channel
        let p = plan(vec![send(1, 8, true), send(1, 9, false), send(1, 4, true)], &HashMap::new(), t(10), window);
        assert_eq!(shape(&p), vec!["msg[4, 8, 9]"]);
    }

    #[test]
    fn channels_are_counted_apart_and_tests_go_alone() {
        let window = chrono::Duration::seconds(60);
        let mut test = send(1, 9, false);
        test.alert = None;
        let mut sends: Vec<Send> = (1..=4).map(|n| send(1, n, false)).collect();
        sends.push(send(2, 1, false));
        sends.push(test);
        let p = plan(sends, &HashMap::from([(Uuid::from_u128(1), recent_of(1, 3, Some(t(1)), None))]), t(10), window);
        assert_eq!(shape(&p), vec!["msg[9]", "hold1 until 01", "hold2 until 01", "hold3 until 01", "hold4 until 01", "msg[1]"]);
    }
}
