//! What an alert says, in each channel's format: one [`Summary`] per message (an alert, a digest
//! of held alerts, or a test), rendered as e-mail text and HTML, Slack `text` + `blocks`, Discord
//! `content` + `embeds`, or the signed JSON of a generic webhook. Pure: no I/O, no clock.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use domain::alert::AlertKind;
use domain::execution::MessageId;
use serde_json::{Value, json};
use store::outbox::{Alert, Send};

/// Good news, bad news, or neither (colours and emoji follow it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Bad,
    Good,
    Neutral,
}

/// One message, before it takes a channel's format.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The message's id: the send's (or the digest's oldest send's).
    pub id: MessageId,
    /// `job.failed`, …, `digest` or `test`.
    pub event: String,
    pub title: String,
    pub tone: Tone,
    /// Label and value, in order.
    pub facts: Vec<(String, String)>,
    /// Where to read more (the execution in the API), when there is one place.
    pub link: Option<String>,
    /// How to stop these messages.
    pub footer: String,
    /// The generic webhook's `data`.
    pub data: Value,
    pub at: DateTime<Utc>,
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn footer(send: &Send) -> String {
    let channel = format!(
        "Sent by Prikke to the notification channel {} of {}. To stop these messages, disable it: PATCH /api/v1/notification-channels/{} with {{\"enabled\": false}}.",
        send.channel_name.as_deref().map_or_else(|| send.channel_id.to_string(), |n| format!("\"{n}\"")),
        send.org_name,
        send.channel_id
    );
    match send.alert.as_ref().and_then(|a| a.job.as_ref()) {
        Some((job, _)) => format!("{channel} To mute only this job: PATCH /api/v1/jobs/{job} with {{\"notifications\": {{\"mute\": true}}}}."),
        None => channel,
    }
}

/// The subject of an alert: what happened to what.
fn title_of(alert: &Alert) -> String {
    let job = alert.job.as_ref().map_or("a queued call".to_owned(), |(_, name)| format!("job \"{name}\""));
    let monitor = alert.monitor.as_ref().map_or("a monitor".to_owned(), |(_, name)| format!("monitor \"{name}\""));
    match alert.kind {
        AlertKind::JobFailed => {
            let status = alert.details["status"].as_str().unwrap_or("failed");
            let cause = match (alert.details["response_status"].as_i64(), status) {
                (Some(code), _) => format!("HTTP {code}"),
                (None, "timeout") => "timed out".to_owned(),
                _ => "no response".to_owned(),
            };
            let job = if alert.job.is_some() { job } else { "A queued call".to_owned() };
            format!("{job} failed: {cause}")
        }
        AlertKind::JobRecovered => format!("{job} recovered"),
        AlertKind::CompletionMissed => format!("{job} did not report completion in time"),
        AlertKind::MonitorDown => {
            let never_pinged = alert.details["last_ping_at"].is_null();
            let why = match alert.details["reason"].as_str() {
                Some("late") if never_pinged => "its first ping never came",
                Some("late") => "its ping is late",
                Some("hung") => "it started and did not finish in time",
                _ if alert.details["ping"].as_str() == Some("fail") => "it reported a failure",
                _ => "down",
            };
            format!("{monitor} is down: {why}")
        }
        AlertKind::MonitorUp => format!("{monitor} is up again"),
    }
}

/// The summary of one alert.
pub fn alert(send: &Send, alert: &Alert, public_url: &str) -> Summary {
    let mut facts = Vec::new();
    if let Some((id, name)) = &alert.job {
        facts.push(("Job".to_owned(), format!("{name} ({id})")));
    }
    if let Some((id, name)) = &alert.monitor {
        facts.push(("Monitor".to_owned(), format!("{name} ({id})")));
    }
    let d = &alert.details;
    if let Some(status) = d["status"].as_str() {
        facts.push(("Status".to_owned(), status.to_owned()));
    }
    if let Some(code) = d["response_status"].as_i64() {
        facts.push(("Last status code".to_owned(), code.to_string()));
    }
    if let Some(n) = d["attempts"].as_i64().filter(|n| *n > 0) {
        facts.push(("Attempts".to_owned(), n.to_string()));
    }
    if let Some(error) = d["error"].as_str() {
        facts.push(("Error".to_owned(), error.to_owned()));
    }
    for (key, label) in [("expected_by", "Expected by"), ("last_ping_at", "Last ping"), ("last_start_at", "Started")] {
        if let Some(at) = d[key].as_str() {
            // instants read as the "When" line does (to the second, UTC)
            let shown = DateTime::parse_from_rfc3339(at).map_or_else(|_| at.to_owned(), |t| stamp(t.with_timezone(&Utc)));
            facts.push((label.to_owned(), shown));
        }
    }
    facts.push(("When".to_owned(), stamp(alert.raised_at)));
    let link = alert.execution_id.map(|id| format!("{public_url}/api/v1/executions/{id}"));
    let tone = match alert.kind {
        AlertKind::JobRecovered | AlertKind::MonitorUp => Tone::Good,
        _ => Tone::Bad,
    };
    let data = json!({
        "job": alert.job.as_ref().map(|(id, name)| json!({"id": id, "name": name})),
        "monitor": alert.monitor.as_ref().map(|(id, name)| json!({"id": id, "name": name})),
        "execution": alert.execution_id.map(|id| json!({"id": id, "url": format!("{public_url}/api/v1/executions/{id}")})),
        "details": d,
    });
    Summary {
        id: MessageId::new(send.id),
        event: alert.kind.event_name().to_owned(),
        title: title_of(alert),
        tone,
        facts,
        link,
        footer: footer(send),
        data,
        at: alert.raised_at,
    }
}

/// The summary of a test message.
pub fn test(send: &Send, now: DateTime<Utc>) -> Summary {
    Summary {
        id: MessageId::new(send.id),
        event: "test".to_owned(),
        title: "Test message from Prikke".to_owned(),
        tone: Tone::Neutral,
        facts: vec![("Organization".to_owned(), send.org_name.clone()), ("When".to_owned(), stamp(now))],
        link: None,
        footer: footer(send),
        data: json!({"test": true}),
        at: now,
    }
}

/// The summary of several held alerts for one channel: how many of each kind, per job and
/// monitor, so a flapping job is one line ("failed 3×, recovered 2×").
pub fn digest(sends: &[&Send], now: DateTime<Utc>) -> Summary {
    let first = sends[0];
    let mut per_subject: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
    for alert in sends.iter().filter_map(|s| s.alert.as_ref()) {
        let subject = match (&alert.job, &alert.monitor) {
            (Some((_, name)), _) => format!("job \"{name}\""),
            (None, Some((_, name))) => format!("monitor \"{name}\""),
            (None, None) => "queued calls".to_owned(),
        };
        *per_subject.entry(subject).or_default().entry(alert.kind.event_name()).or_default() += 1;
    }
    let count = sends.len();
    let facts: Vec<(String, String)> = per_subject
        .iter()
        .map(|(subject, kinds)| {
            let counts: Vec<String> = kinds.iter().map(|(event, n)| format!("{event} {n}×")).collect();
            (subject.clone(), counts.join(", "))
        })
        .collect();
    let data = json!({
        "count": count,
        "alerts": sends.iter().filter_map(|s| s.alert.as_ref().map(|a| json!({
            "id": MessageId::new(s.id).to_string(),
            "type": a.kind.event_name(),
            "job": a.job.as_ref().map(|(id, name)| json!({"id": id, "name": name})),
            "monitor": a.monitor.as_ref().map(|(id, name)| json!({"id": id, "name": name})),
            "raised_at": stamp(a.raised_at),
        }))).collect::<Vec<_>>(),
    });
    Summary {
        id: MessageId::new(first.id),
        event: "digest".to_owned(),
        title: format!("{count} alerts in {} (digest: too many to send one by one)", first.org_name),
        tone: Tone::Bad,
        facts,
        link: None,
        footer: footer(first),
        data,
        at: now,
    }
}

/// Plain-text e-mail body.
pub fn email_text(s: &Summary) -> String {
    let mut out = format!("{}\n\n", s.title);
    for (k, v) in &s.facts {
        out.push_str(&format!("{k}: {v}\n"));
    }
    if let Some(link) = &s.link {
        out.push_str(&format!("\nDetails: {link}\n"));
    }
    out.push_str(&format!("\n-- \n{}\n", s.footer));
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// HTML e-mail body (minimal markup, the brand's colours).
pub fn email_html(s: &Summary) -> String {
    let colour = match s.tone {
        Tone::Bad => "#dc2626",
        Tone::Good => "#10b981",
        Tone::Neutral => "#0f172a",
    };
    let rows: String = s
        .facts
        .iter()
        .map(|(k, v)| format!("<tr><th style=\"text-align:left;padding:2px 12px 2px 0\">{}</th><td>{}</td></tr>", escape(k), escape(v)))
        .collect();
    let link = s.link.as_ref().map_or(String::new(), |l| format!("<p><a href=\"{0}\">{0}</a></p>", escape(l)));
    format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#0f172a\">\
         <h2 style=\"color:{colour}\">{}</h2><table>{rows}</table>{link}\
         <p style=\"color:#64748b;font-size:12px\">{}</p></body></html>",
        escape(&s.title),
        escape(&s.footer)
    )
}

/// A Slack incoming-webhook payload: `text` (notifications, fallback) and Block Kit `blocks`.
pub fn slack(s: &Summary) -> Value {
    let emoji = match s.tone {
        Tone::Bad => ":red_circle:",
        Tone::Good => ":large_green_circle:",
        Tone::Neutral => ":information_source:",
    };
    let facts: Vec<String> = s.facts.iter().map(|(k, v)| format!("*{k}:* {v}")).collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&s.title, 150)}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(&facts.join("\n"), 3000)}}),
    ];
    if let Some(link) = &s.link {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("<{link}|Details>")}}));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(&s.footer, 3000)}]}));
    json!({"text": format!("{emoji} {}", s.title), "blocks": blocks})
}

/// A Discord webhook payload: `content` and one embed with the facts as fields.
pub fn discord(s: &Summary) -> Value {
    let colour = match s.tone {
        Tone::Bad => 0xdc2626,
        Tone::Good => 0x10b981,
        Tone::Neutral => 0x0f172a,
    };
    let fields: Vec<Value> =
        s.facts.iter().take(25).map(|(k, v)| json!({"name": truncate(k, 256), "value": truncate(v, 1024), "inline": false})).collect();
    let mut embed = json!({
        "title": truncate(&s.title, 256),
        "color": colour,
        "fields": fields,
        "footer": {"text": truncate(&s.footer, 2048)},
        "timestamp": stamp(s.at),
    });
    if let Some(link) = &s.link {
        embed["url"] = json!(link);
    }
    json!({"content": truncate(&s.title, 2000), "embeds": [embed]})
}

/// The generic webhook's JSON (signed by the sender like a job delivery).
pub fn generic(s: &Summary, send: &Send) -> Value {
    json!({
        "type": s.event,
        "id": s.id.to_string(),
        "timestamp": stamp(s.at),
        "title": s.title,
        "organization": {"id": send.org_id, "name": send.org_name},
        "data": s.data,
    })
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use domain::notification::{ChannelKind, ChannelTarget};
    use uuid::Uuid;

    fn send(kind: AlertKind, details: Value) -> Send {
        let id = Uuid::parse_str("0192f2a1-c3d8-4e5f-8a9b-0c1d2e3f4a5b").unwrap();
        let at = Utc.with_ymd_and_hms(2026, 6, 1, 3, 0, 5).unwrap();
        Send {
            id,
            org_id: Uuid::nil(),
            org_name: "Acme".into(),
            channel_id: Uuid::nil(),
            channel_name: Some("ops".into()),
            target: ChannelTarget::parse(ChannelKind::Webhook, "https://example.com/a").unwrap(),
            unsubscribe_token: "t".into(),
            attempts: 1,
            held: false,
            created_at: at,
            alert: Some(Alert {
                id,
                kind,
                job: Some((Uuid::nil(), "nightly <report>".into())),
                monitor: None,
                execution_id: Some(id),
                details,
                raised_at: at,
            }),
        }
    }

    #[test]
    fn a_failure_says_what_failed_when_with_what_and_where_to_look() {
        let s = send(AlertKind::JobFailed, json!({"status": "failed", "attempts": 3, "response_status": 503, "error": "gave up after 3 attempt(s)"}));
        let sum = alert(&s, s.alert.as_ref().unwrap(), "https://prikke.eu");
        assert_eq!(sum.title, "job \"nightly <report>\" failed: HTTP 503");
        assert_eq!(sum.id.to_string(), "msg_0192f2a1c3d84e5f8a9b0c1d2e3f4a5b");
        let text = email_text(&sum);
        for needle in ["Last status code: 503", "Attempts: 3", "When: 2026-06-01T03:00:05Z", "https://prikke.eu/api/v1/executions/0192f2a1-c3d8-4e5f-8a9b-0c1d2e3f4a5b", "disable it: PATCH /api/v1/notification-channels/"] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
        let html = email_html(&sum);
        assert!(html.contains("nightly &lt;report&gt;") && !html.contains("<report>"), "escaped: {html}");
        let slack = slack(&sum);
        assert!(slack["text"].as_str().unwrap().ends_with("failed: HTTP 503"));
        assert_eq!(slack["blocks"][0]["type"], "header");
        let discord = discord(&sum);
        assert_eq!(discord["embeds"][0]["color"], 0xdc2626);
        assert_eq!(discord["embeds"][0]["url"], "https://prikke.eu/api/v1/executions/0192f2a1-c3d8-4e5f-8a9b-0c1d2e3f4a5b");
        let g = generic(&sum, &s);
        assert_eq!((g["type"].as_str(), g["data"]["details"]["response_status"].as_i64()), (Some("job.failed"), Some(503)));
    }

    #[test]
    fn other_kinds_have_their_own_titles() {
        let recovered = send(AlertKind::JobRecovered, json!({}));
        assert_eq!(alert(&recovered, recovered.alert.as_ref().unwrap(), "x").title, "job \"nightly <report>\" recovered");
        for (details, why) in [
            (json!({"reason": "late", "last_ping_at": "2026-06-01T02:00:00Z"}), "its ping is late"),
            (json!({"reason": "late", "last_ping_at": null}), "its first ping never came"),
            (json!({"reason": "hung", "last_start_at": "2026-06-01T02:00:00Z"}), "it started and did not finish in time"),
            (json!({"ping": "fail"}), "it reported a failure"),
        ] {
            let mut down = send(AlertKind::MonitorDown, details);
            down.alert.as_mut().unwrap().job = None;
            down.alert.as_mut().unwrap().monitor = Some((Uuid::nil(), "backup".into()));
            assert_eq!(alert(&down, down.alert.as_ref().unwrap(), "x").title, format!("monitor \"backup\" is down: {why}"));
        }
        let missed = send(AlertKind::CompletionMissed, json!({"status": "failed", "expected_by": "2026-06-01T03:00:40.123456+00:00"}));
        let sum = alert(&missed, missed.alert.as_ref().unwrap(), "x");
        assert_eq!(sum.title, "job \"nightly <report>\" did not report completion in time");
        assert!(email_text(&sum).contains("Expected by: 2026-06-01T03:00:40Z\n"), "{}", email_text(&sum));
        assert!(email_text(&sum).contains("To mute only this job: PATCH /api/v1/jobs/"));
        let timeout = send(AlertKind::JobFailed, json!({"status": "timeout"}));
        assert!(alert(&timeout, timeout.alert.as_ref().unwrap(), "x").title.ends_with("failed: timed out"));
    }

    #[test]
    fn a_digest_counts_per_job_and_kind() {
        let a = send(AlertKind::JobFailed, json!({}));
        let b = send(AlertKind::JobRecovered, json!({}));
        let c = send(AlertKind::JobFailed, json!({}));
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 3, 1, 0).unwrap();
        let d = digest(&[&a, &b, &c], now);
        assert_eq!(d.event, "digest");
        assert!(d.title.starts_with("3 alerts in Acme"));
        assert_eq!(d.facts, vec![("job \"nightly <report>\"".to_owned(), "job.failed 2×, job.recovered 1×".to_owned())]);
        assert_eq!(d.data["count"], 3);
        assert_eq!(d.data["alerts"].as_array().unwrap().len(), 3);
    }
}
