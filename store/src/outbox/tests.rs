//! The outbox against a freshly migrated database.

use chrono::{Duration, TimeZone};
use domain::alert::AlertKind;
use domain::notification::{ChannelKind, ChannelTarget, EventSet, SendStatus};
use domain::tier::Tier;
use sqlx::PgPool;

use super::*;
use crate::notification_channels::{self, ChannelFields};
use crate::organizations;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

async fn channel(pool: &PgPool, org: Uuid, target: &str, events: EventSet, enabled: bool) -> Uuid {
    let kind = if target.contains('@') { ChannelKind::Email } else { ChannelKind::Webhook };
    let target = ChannelTarget::parse(kind, target).unwrap();
    let f = ChannelFields { name: Some("c"), target: &target, events: &events, enabled };
    notification_channels::insert(pool, org, Uuid::now_v7(), &f).await.unwrap().id
}

async fn event(pool: &PgPool, org: Uuid, kind: AlertKind) -> Uuid {
    sqlx::query_scalar("INSERT INTO alert_events (org_id, kind, details) VALUES ($1, $2, '{\"error\": \"HTTP 500\"}') RETURNING id")
        .bind(org)
        .bind(kind.as_str())
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn claim_now(pool: &PgPool, me: &str, now: DateTime<Utc>) -> Vec<Send> {
    let mut tx = pool.begin().await.unwrap();
    let sends = claim(&mut tx, me, now, Duration::seconds(60), 100).await.unwrap();
    tx.commit().await.unwrap();
    sends
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn an_event_fans_out_to_each_enabled_channel_that_takes_it(pool: PgPool) {
    let org = organizations::insert(&pool, "Acme", "acme", Tier::Pro).await.unwrap().id;
    let other = organizations::insert(&pool, "Other", "other", Tier::Pro).await.unwrap().id;
    let all = channel(&pool, org, "ops@example.com", EventSet::all(), true).await;
    let monitors_only = channel(&pool, org, "https://example.com/monitors", EventSet::of([AlertKind::MonitorDown]), true).await;
    channel(&pool, org, "https://example.com/off", EventSet::all(), false).await;
    channel(&pool, other, "https://example.com/other", EventSet::all(), true).await;
    let failed = event(&pool, org, AlertKind::JobFailed).await;
    let down = event(&pool, org, AlertKind::MonitorDown).await;

    assert_eq!(fan_out(&pool, t0(), 100).await.unwrap(), 2);
    assert_eq!(fan_out(&pool, t0(), 100).await.unwrap(), 0, "each event fans out once");
    let mut sends: Vec<(Uuid, Uuid)> =
        sqlx::query_as("SELECT alert_event_id, channel_id FROM notification_deliveries").fetch_all(&pool).await.unwrap();
    sends.sort();
    let mut want = vec![(failed, all), (down, all), (down, monitors_only)];
    want.sort();
    assert_eq!(sends, want, "the disabled channel and the other organization's get nothing");

    let claimed = claim_now(&pool, "me", t0()).await;
    assert_eq!(claimed.len(), 3);
    let s = claimed.iter().find(|s| s.alert.as_ref().is_some_and(|a| a.id == failed)).unwrap();
    assert_eq!((s.org_name.as_str(), s.attempts, s.held, s.target.as_str()), ("Acme", 1, false, "ops@example.com"));
    let alert = s.alert.as_ref().unwrap();
    assert_eq!((alert.kind, alert.details["error"].as_str()), (AlertKind::JobFailed, Some("HTTP 500")));
    assert!(claim_now(&pool, "someone-else", t0()).await.is_empty(), "leased");
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn outcomes_retries_holds_and_an_expired_lease(pool: PgPool) {
    let org = organizations::insert(&pool, "Acme", "acme", Tier::Pro).await.unwrap().id;
    channel(&pool, org, "https://example.com/a", EventSet::all(), true).await;
    for _ in 0..4 {
        event(&pool, org, AlertKind::JobFailed).await;
    }
    fan_out(&pool, t0(), 100).await.unwrap();
    let c = claim_now(&pool, "me", t0()).await;
    let ids: Vec<Uuid> = c.iter().map(|s| s.id).collect();
    let later = t0() + Duration::minutes(5);
    let outcomes = vec![
        (ids[0], SendOutcome::Sent { sent_as: ids[0], response_status: Some(200) }),
        (ids[1], SendOutcome::Retry { at: later, error: "HTTP 503".into(), response_status: Some(503) }),
        (ids[2], SendOutcome::Held { until: later }),
        (ids[3], SendOutcome::GaveUp { error: "refused".into(), response_status: None }),
    ];
    assert_eq!(record(&pool, "someone-else", &outcomes, t0()).await.unwrap(), 0, "only the leaseholder writes");
    assert_eq!(record(&pool, "me", &outcomes, t0()).await.unwrap(), 4);
    let st = |i: usize| {
        let pool = pool.clone();
        let id = ids[i];
        async move { state(&pool, org, id).await.unwrap().unwrap() }
    };
    assert_eq!(st(0).await, SendState { status: SendStatus::Sent, attempts: 1, response_status: Some(200), last_error: None });
    assert_eq!(st(1).await, SendState { status: SendStatus::Pending, attempts: 1, response_status: Some(503), last_error: Some("HTTP 503".into()) });
    assert_eq!(st(2).await.attempts, 0, "a hold is not an attempt");
    assert_eq!(st(3).await.status, SendStatus::Failed);
    assert!(claim_now(&pool, "me", t0() + Duration::minutes(4)).await.is_empty(), "not due yet");
    let again = claim_now(&pool, "me", later).await;
    assert_eq!(again.iter().map(|s| (s.id, s.held, s.attempts)).collect::<Vec<_>>(), vec![(ids[1], false, 2), (ids[2], true, 1)]);

    // a dead worker's lease expires and the send is claimed again, same id
    let reclaimed = claim_now(&pool, "survivor", later + Duration::seconds(61)).await;
    assert_eq!(reclaimed.iter().map(|s| s.id).collect::<Vec<_>>(), vec![ids[1], ids[2]]);

    let recent = recent_messages(&pool, &[c[0].channel_id], t0() - Duration::seconds(1)).await.unwrap();
    let held_until = Some(later);
    assert_eq!(recent, vec![ChannelRecent { channel_id: c[0].channel_id, sent: 1, oldest_sent_at: Some(t0()), held_until }], "one sent, one digest waiting");
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_test_message_is_a_send_of_its_own_organization(pool: PgPool) {
    let org = organizations::insert(&pool, "Acme", "acme", Tier::Pro).await.unwrap().id;
    let other = organizations::insert(&pool, "Other", "other", Tier::Pro).await.unwrap().id;
    let ch = channel(&pool, org, "https://example.com/a", EventSet::all(), true).await;
    assert_eq!(request_test(&pool, other, ch, t0()).await.unwrap(), None, "another organization's channel");
    let id = request_test(&pool, org, ch, t0()).await.unwrap().unwrap();
    assert_eq!(state(&pool, other, id).await.unwrap(), None);
    let claimed = claim_now(&pool, "me", t0()).await;
    assert_eq!((claimed.len(), claimed[0].id, claimed[0].alert.clone()), (1, id, None));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_job_can_be_muted_or_send_to_its_own_channels(pool: PgPool) {
    let org = organizations::insert(&pool, "Acme", "acme", Tier::Pro).await.unwrap().id;
    let a = channel(&pool, org, "ops@example.com", EventSet::all(), true).await;
    let b = channel(&pool, org, "https://example.com/b", EventSet::all(), true).await;
    let monitors_only = channel(&pool, org, "https://example.com/m", EventSet::of([AlertKind::MonitorDown]), true).await;
    let job = |notifications: serde_json::Value| {
        let pool = pool.clone();
        async move {
            let draft = serde_json::json!({"name": "j", "url": "https://example.com/hook", "notifications": notifications,
                                           "schedule": {"kind": "cron", "expr": "0 * * * *"}});
            let spec = domain::job::restore(&serde_json::from_value(draft).unwrap()).unwrap();
            crate::jobs::insert(&pool, org, Uuid::now_v7(), &spec, None).await.unwrap().id
        }
    };
    let default = job(serde_json::Value::Null).await;
    let muted = job(serde_json::json!({"mute": true})).await;
    let own = job(serde_json::json!({"channels": [b.to_string(), monitors_only.to_string()]})).await;
    let gone = Uuid::now_v7();
    let dangling = job(serde_json::json!({"channels": [gone.to_string()]})).await;
    let mut events = std::collections::HashMap::new();
    for (name, job_id) in [("default", default), ("muted", muted), ("own", own), ("dangling", dangling)] {
        let id: Uuid = sqlx::query_scalar("INSERT INTO alert_events (org_id, kind, job_id) VALUES ($1, 'job_failed', $2) RETURNING id")
            .bind(org)
            .bind(job_id)
            .fetch_one(&pool)
            .await
            .unwrap();
        events.insert(id, name);
    }
    assert_eq!(fan_out(&pool, t0(), 100).await.unwrap(), 4, "every event is processed, the muted one too");
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as("SELECT alert_event_id, channel_id FROM notification_deliveries").fetch_all(&pool).await.unwrap();
    let mut got: Vec<(&str, Uuid)> = rows.iter().map(|(e, c)| (events[e], *c)).collect();
    got.sort();
    let mut want = vec![("default", a), ("default", b), ("own", b), ("dangling", a), ("dangling", b)];
    want.sort();
    assert_eq!(got, want, "muted: nobody; own: its channels that take the event; all listed channels gone: the organization's");
}
