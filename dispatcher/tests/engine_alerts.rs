//! Alerts that reach people, end to end in process: a real SMTP server (aiosmtpd), HTTPS
//! receivers standing in for Slack and Discord (their host names resolved to 127.0.0.1 for the
//! alert sender only), a generic webhook that verifies Standard Webhooks signatures, and real
//! Postgres. Failures and recoveries, the digest rule, and an SMTP server that refuses or is down.

mod support;

use std::time::Duration;

use chrono::Utc;
use dispatcher::SystemClock;
use domain::tier::Tier;
use serde_json::{Value, json};
use sqlx::PgPool;
use support::smtp::SmtpSink;
use support::{Gate, Receiver, Reply, shared};
use uuid::Uuid;

/// A manual run of `job` ("trigger now"), due now.
async fn trigger(pool: &PgPool, org: Uuid, job: &store::jobs::Job) -> Uuid {
    let source = store::executions::Source::Manual;
    store::executions::enqueue_spec(pool, Uuid::now_v7(), org, Some(job.id), source, Utc::now(), 140, &job.spec).await.unwrap().id
}

fn json_of(r: &support::receiver::Received) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_failing_job_alerts_every_channel_once_and_its_recovery_once(pool: PgPool) {
    let smtp = SmtpSink::start(0).await;
    let (slack, slack_ca) = Receiver::start_tls(&["hooks.slack.com"], |_, _| Reply::status(200)).await;
    let (discord, discord_ca) = Receiver::start_tls(&["discord.com"], |_, _| Reply::status(204)).await;
    let generic = Receiver::ok().await;
    // the job's endpoint: 503 to both attempts of the first run, then 200
    let endpoint = Receiver::start(|_, n| Reply::status(if n < 2 { 503 } else { 200 })).await;
    let org = support::org(&pool, Tier::Pro).await;
    for target in ["ops@example.com", "https://hooks.slack.com/services/T0/B0/secret", "https://discord.com/api/webhooks/1/secret", &generic.url("/alerts")] {
        support::channel(&pool, org, target).await;
    }
    let job = support::job(
        &pool,
        org,
        json!({"name": "nightly report", "url": endpoint.url("/run"), "retry": {"max_attempts": 2, "base_delay_secs": 1},
               "schedule": {"kind": "cron", "expr": "0 3 * * *"}}),
        Utc::now() + chrono::Duration::days(400), // its own schedule stays out of the test
    )
    .await;
    let d = support::start(&pool, shared(SystemClock), |c| {
        c.smtp_url = Some(smtp.url());
        c.alert_resolve = vec![("hooks.slack.com".into(), slack.addr), ("discord.com".into(), discord.addr)];
        c.alert_root_certificates_pem = vec![slack_ca.into_bytes(), discord_ca.into_bytes()];
    })
    .await;

    let failed = trigger(&pool, org, &job).await;
    assert_eq!(support::wait_final(&pool, failed, Duration::from_secs(20)).await.status, "failed");
    let within = Duration::from_secs(20);
    let mail = smtp.wait_for(1, within).await.remove(0);
    let subject = mail["subject"].as_str().unwrap();
    assert_eq!(subject, "[Prikke] job \"nightly report\" failed: HTTP 503");
    let text = mail["text"].as_str().unwrap();
    for needle in ["Last status code: 503", "Attempts: 2", &format!("https://prikke.test/api/v1/executions/{failed}"), "PATCH /api/v1/notification-channels/", &format!("PATCH /api/v1/jobs/{} with {{\"notifications\": {{\"mute\": true}}}}", job.id)] {
        assert!(text.contains(needle), "{needle:?} not in the e-mail:\n{text}");
    }
    assert!(mail["html"].as_str().unwrap().contains("Last status code"));
    let message_id = mail["message_id"].as_str().unwrap();
    assert!(message_id.starts_with('<') && message_id.ends_with("@prikke.eu>"), "{message_id}");
    assert!(mail["list_unsubscribe"].as_str().unwrap().starts_with("<https://prikke.test/app/unsubscribe/"), "{mail}");
    assert_eq!(mail["to"], json!(["ops@example.com"]));

    let s = json_of(&slack.wait_for(1, within).await[0]);
    assert!(s["text"].as_str().unwrap().ends_with("job \"nightly report\" failed: HTTP 503"), "{s}");
    assert_eq!(s["blocks"][0]["type"], "header");
    let dc = json_of(&discord.wait_for(1, within).await[0]);
    assert_eq!((dc["content"].as_str(), dc["embeds"][0]["color"].as_i64()), (Some("job \"nightly report\" failed: HTTP 503"), Some(0xdc2626)));
    let g = &generic.wait_for(1, within).await[0];
    let (id, ts, sig) = (g.header("webhook-id"), g.header("webhook-timestamp"), g.header("webhook-signature"));
    assert!(support::verify_by_hand(support::SECRET, id, ts, sig, &g.body), "the generic webhook is signed with the organization's secret");
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in [("webhook-id", id), ("webhook-timestamp", ts), ("webhook-signature", sig)] {
        headers.insert(name, value.parse().unwrap());
    }
    let official = standardwebhooks::Webhook::new(support::SECRET).unwrap();
    official.verify(&g.body, &headers).expect("the official Standard Webhooks library verifies the alert");
    let body = json_of(g);
    assert_eq!((body["type"].as_str(), body["id"].as_str()), (Some("job.failed"), Some(id)));
    assert_eq!(body["data"]["execution"]["id"], json!(failed));
    assert!(slack.received()[0].header("webhook-signature").is_empty(), "Slack gets no signature it could not check");

    let recovered = trigger(&pool, org, &job).await;
    assert_eq!(support::wait_final(&pool, recovered, Duration::from_secs(20)).await.status, "success");
    assert_eq!(smtp.wait_for(2, within).await[1]["subject"], "[Prikke] job \"nightly report\" recovered");
    assert!(json_of(&slack.wait_for(2, within).await[1])["text"].as_str().unwrap().ends_with("job \"nightly report\" recovered"));
    assert_eq!(json_of(&discord.wait_for(2, within).await[1])["embeds"][0]["color"], 0x10b981);
    assert_eq!(json_of(&generic.wait_for(2, within).await[1])["type"], "job.recovered");

    d.shutdown().await;
    let sends: Vec<(String, i64)> = sqlx::query_as("SELECT status, count(*) FROM notification_deliveries GROUP BY status").fetch_all(&pool).await.unwrap();
    assert_eq!(sends, vec![("sent".to_owned(), 8)], "two alerts, four channels, each sent once");
    assert_eq!((smtp.mails().len(), slack.received().len(), discord.received().len(), generic.received().len()), (2, 2, 2, 2));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn two_hundred_failures_at_once_reach_a_channel_as_three_messages_and_one_digest(pool: PgPool) {
    let smtp = SmtpSink::start(0).await;
    let generic = Receiver::ok().await;
    let endpoint = Receiver::start(|_, _| Reply::status(404)).await;
    let org = support::org(&pool, Tier::Pro).await;
    support::channel(&pool, org, "ops@example.com").await;
    support::channel(&pool, org, &generic.url("/alerts")).await;
    let now = Utc::now();
    let mut calls = Vec::new();
    for _ in 0..200 {
        calls.push(support::queue(&pool, org, &endpoint.url("/gone"), now, 1, 1).await);
    }
    let d = support::start(&pool, shared(SystemClock), |c| {
        c.smtp_url = Some(smtp.url());
        c.alerts.digest_window = Duration::from_secs(10);
    })
    .await;
    for id in &calls {
        assert_eq!(support::wait_final(&pool, *id, Duration::from_secs(30)).await.status, "failed");
    }
    let got = generic.wait_for(4, Duration::from_secs(40)).await;
    let types: Vec<String> = got.iter().map(|r| json_of(r)["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(types, vec!["job.failed", "job.failed", "job.failed", "digest"]);
    let digest = json_of(&got[3]);
    assert_eq!((digest["data"]["count"].as_i64(), digest["data"]["alerts"].as_array().map(Vec::len)), (Some(197), Some(197)));
    let mails = smtp.wait_for(4, Duration::from_secs(40)).await;
    assert!(mails[3]["subject"].as_str().unwrap().starts_with("[Prikke] 197 alerts in Test org"), "{}", mails[3]["subject"]);
    assert!(mails[3]["text"].as_str().unwrap().contains("queued calls: job.failed 197×"), "{}", mails[3]["text"]);
    d.shutdown().await;
    let per_channel: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT count(*), count(DISTINCT sent_as) FROM notification_deliveries WHERE status = 'sent' GROUP BY channel_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(per_channel, vec![(200, 4), (200, 4)], "every alert sent, in four messages per channel");
    assert_eq!((generic.received().len(), smtp.mails().len()), (4, 4));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_smtp_server_that_refuses_or_is_down_gets_the_alert_once_it_takes_mail(pool: PgPool) {
    // one server refusing twice (451), and a port where no server listens yet
    let refusing = SmtpSink::start(2).await;
    let port = support::unused_port();
    let endpoint = Receiver::start(|_, _| Reply::status(404)).await;
    let org = support::org(&pool, Tier::Pro).await;
    support::channel(&pool, org, "ops@example.com").await;
    let d = support::start(&pool, shared(SystemClock), |c| c.smtp_url = Some(refusing.url())).await;
    let call = support::queue(&pool, org, &endpoint.url("/gone"), Utc::now(), 1, 1).await;
    let mail = refusing.wait_for(1, Duration::from_secs(30)).await.remove(0);
    assert_eq!(refusing.refused(), 2);
    assert!(mail["subject"].as_str().unwrap().contains("A queued call failed: HTTP 404"), "{mail}");
    let attempts: i16 = support::eventually("the send is recorded as sent", Duration::from_secs(10), || async {
        sqlx::query_scalar("SELECT attempts FROM notification_deliveries WHERE status = 'sent'").fetch_optional(&pool).await.unwrap()
    })
    .await;
    assert_eq!(attempts, 3, "refused twice, accepted on the third attempt");
    assert_eq!(support::wait_final(&pool, call, Duration::from_secs(5)).await.status, "failed");
    d.shutdown().await;

    sqlx::query("DELETE FROM notification_deliveries").execute(&pool).await.unwrap();
    let d = support::start(&pool, shared(SystemClock), |c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    support::queue(&pool, org, &endpoint.url("/gone"), Utc::now(), 1, 1).await;
    support::eventually("a send fails while no server listens", Duration::from_secs(30), || async {
        let error: Option<String> = sqlx::query_scalar("SELECT last_error FROM notification_deliveries").fetch_optional(&pool).await.unwrap().flatten();
        error.filter(|e| e.starts_with("SMTP")).map(|_| ())
    })
    .await;
    let back = SmtpSink::start_on(port, 0).await;
    let mail = back.wait_for(1, Duration::from_secs(30)).await.remove(0);
    assert!(mail["subject"].as_str().unwrap().contains("failed: HTTP 404"));
    d.shutdown().await;
}

/// Account e-mails (sign-in links and the like) wait in their own outbox: a NOTIFY wakes the
/// sender, so one arrives long before the sender's poll would find it (the poll here is a
/// minute), and once sent its body, which holds the link, is gone from the database.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_account_email_goes_out_at_once_and_its_link_is_then_forgotten(pool: PgPool) {
    let smtp = SmtpSink::start(0).await;
    let d = support::start(&pool, shared(SystemClock), |c| {
        c.smtp_url = Some(smtp.url());
        c.alerts.poll = Duration::from_secs(60);
    })
    .await;
    // the first round (at start) has passed once the listener is up; then the message is queued
    support::eventually("the dispatcher listens", Duration::from_secs(10), || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%LISTEN \"prikke_mail\"%' AND state = 'idle'",
        )
            .fetch_one(&pool)
            .await
            .unwrap();
        (n > 0).then_some(())
    })
    .await;
    let mail = store::mail::NewMail {
        org_id: None,
        kind: domain::account::MailKind::MagicLink,
        to: "kari@example.com",
        subject: "Your sign-in link",
        text: "Sign in: https://prikke.test/app/magic/0123abcd",
        html: "<p><a href=\"https://prikke.test/app/magic/0123abcd\">Sign in</a></p>",
    };
    let id = store::mail::enqueue(&pool, &mail).await.unwrap();
    let got = smtp.wait_for(1, Duration::from_secs(10)).await.remove(0);
    assert_eq!((got["subject"].as_str(), got["to"].clone()), (Some("Your sign-in link"), json!(["kari@example.com"])));
    assert!(got["text"].as_str().unwrap().contains("https://prikke.test/app/magic/0123abcd"));
    assert_eq!(got["message_id"], format!("<{id}@prikke.eu>"));
    let (status, body): (String, Option<String>) = support::eventually("the send is recorded", Duration::from_secs(10), || async {
        let row: (String, Option<String>) = sqlx::query_as("SELECT status, body_text FROM outgoing_mail WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
        (row.0 == "sent").then_some(row)
    })
    .await;
    assert_eq!((status.as_str(), body), ("sent", None));
    d.shutdown().await;
}

/// An alert claimed before its organization's deletion was requested, and still waiting for a
/// send permit when it was, is not sent: the deletion gave it up. (A message already on the wire
/// finishes.) One send permit; each of the organization's two channels gets one message.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_alert_waiting_to_be_sent_when_its_organization_is_deleted_is_not_sent(pool: PgPool) {
    let gate = Gate::new();
    let (first, second) = (Receiver::holding("127.0.0.1:0", &gate).await, Receiver::holding("127.0.0.1:0", &gate).await);
    let other = Receiver::ok().await;
    let endpoint = Receiver::start(|_, _| Reply::status(503)).await;
    let failing = |name: &str| json!({"name": name, "url": endpoint.url("/run"), "retry": {"max_attempts": 1}, "schedule": {"kind": "cron", "expr": "0 3 * * *"}});
    let later = Utc::now() + chrono::Duration::days(400);
    let (deleted, kept) = (support::org(&pool, Tier::Pro).await, support::org(&pool, Tier::Pro).await);
    for channel in [&first, &second] {
        support::channel(&pool, deleted, &channel.url("/alerts")).await;
    }
    support::channel(&pool, kept, &other.url("/alerts")).await;
    let (job, other_job) = (support::job(&pool, deleted, failing("nightly"), later).await, support::job(&pool, kept, failing("hourly"), later).await);
    let d = support::start(&pool, shared(SystemClock), |c| c.alerts.concurrency = 1).await;

    let run = trigger(&pool, deleted, &job).await;
    assert_eq!(support::wait_final(&pool, run, Duration::from_secs(20)).await.status, "failed");
    // one channel's message is on the wire (held there), the other's waits for the send permit
    support::eventually("one message on the wire", Duration::from_secs(20), || async { (first.received().len() + second.received().len() == 1).then_some(()) }).await;
    let mut tx = pool.begin().await.unwrap();
    store::erasure::request(&mut tx, deleted, Utc::now(), Utc::now() + chrono::Duration::days(7)).await.unwrap().expect("deletion requested");
    tx.commit().await.unwrap();
    gate.open();
    // the sender works in rounds, one after another: once an alert raised after this point has
    // arrived, the round holding the waiting message is over
    let run = trigger(&pool, kept, &other_job).await;
    assert_eq!(support::wait_final(&pool, run, Duration::from_secs(20)).await.status, "failed");
    other.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(first.received().len() + second.received().len(), 1, "the message that waited for the permit was not sent");
    d.shutdown().await;
}
