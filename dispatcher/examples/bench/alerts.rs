//! Alerts: how long from a call's final failure to its alert's arrival at a webhook receiver, and
//! whether a burst of job deliveries is slowed by alerts sent at the same time.
//!
//! Both use `alerts` organizations, each with one generic webhook channel and one queued call
//! (one attempt) to an endpoint that answers 500: every failed queued call alerts, and one alert
//! per channel stays under the digest rule, so each failure is one signed webhook.
//!
//! - lag: only those failures; arrival at the alert receiver minus the failed execution's
//!   `finished_at` (the moment its failure was known).
//! - burst: the same failures plus `burst` calls to a 204 receiver, all due at the same
//!   instant; run without channels (the failures alert nobody) and with them, alternately,
//!   `rounds` times: the burst's lag from the due instant (p50, p99, last) side by side, and when
//!   the alerts arrived next to when the burst did (they overlap: the recorder wakes the alert
//!   sender as soon as it has written a failure).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::notification::{ChannelKind, ChannelTarget, EventSet};
use uuid::Uuid;

use crate::fixture::{self, BenchDb, percentile};
use crate::receiver::{self, Log};

pub async fn run(server: &str, alerts: usize, burst: usize, rounds: usize) {
    println!("\n== alerts: {alerts} failing calls in {alerts} organizations, one webhook channel each");
    let lags = quiet_lag(server, alerts).await;
    let (p50, p99, max) = (percentile(&lags, 0.5), percentile(&lags, 0.99), *lags.last().unwrap());
    println!("final failure → alert received: p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms");
    println!("RESULT alert_lag alerts={alerts} p50_ms={p50:.0} p99_ms={p99:.0} max_ms={max:.0}");

    println!("\n== alerts during a burst: {burst} deliveries due at one instant, with {alerts} failing calls; without and with their alerts");
    for round in 1..=rounds {
        for with_alerts in [false, true] {
            let r = burst_run(server, alerts, burst, with_alerts).await;
            let alert_part = match &r.alert_lags {
                Some(l) => format!(" alert_p50_ms={:.0} alert_p99_ms={:.0}", percentile(l, 0.5), percentile(l, 0.99)),
                None => String::new(),
            };
            if let Some((first, last)) = r.alerts_arrived {
                println!(
                    "burst arrived {:.0}..{:.0} ms after the due instant; the alerts {first:.0}..{last:.0} ms",
                    r.lags[0],
                    r.lags.last().unwrap()
                );
            }
            println!(
                "RESULT burst_alerts round={round} jobs={burst} alerts={} p50_ms={:.0} p99_ms={:.0} last_ms={:.0}{alert_part}",
                if with_alerts { alerts } else { 0 },
                percentile(&r.lags, 0.5),
                percentile(&r.lags, 0.99),
                r.lags.last().unwrap()
            );
        }
    }
}

/// `n` organizations, each with a webhook channel to `alert_url` (when given) and one queued
/// call due at `due` to `fail_url`, which answers 500.
async fn failing_orgs(db: &BenchDb, n: usize, fail_url: &str, alert_url: Option<&str>, due: DateTime<Utc>) {
    for _ in 0..n {
        let org = fixture::org(&db.pool).await;
        if let Some(url) = alert_url {
            let target = ChannelTarget::parse(ChannelKind::Webhook, url).unwrap();
            let fields = store::notification_channels::ChannelFields { name: None, target: &target, events: &EventSet::all(), enabled: true };
            store::notification_channels::insert(&db.pool, org, Uuid::now_v7(), &fields).await.unwrap();
        }
        fixture::executions(&db.pool, org, fail_url, due, 1).await;
    }
}

/// Each alert's lag behind the failure it reports, in ms, sorted.
async fn alert_lags(db: &BenchDb, log: &Log) -> Vec<f64> {
    let finished: HashMap<Uuid, DateTime<Utc>> =
        sqlx::query_as::<_, (Uuid, DateTime<Utc>)>("SELECT id, finished_at FROM executions WHERE status = 'failed'")
            .fetch_all(&db.pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let mut lags: Vec<f64> = log
        .bodies
        .lock()
        .unwrap()
        .iter()
        .map(|(at, body)| {
            let alert: serde_json::Value = serde_json::from_slice(body).unwrap();
            let id: Uuid = alert["data"]["execution"]["id"].as_str().expect("the alert names its execution").parse().unwrap();
            (*at - finished[&id]).num_microseconds().unwrap() as f64 / 1000.0
        })
        .collect();
    lags.sort_by(f64::total_cmp);
    lags
}

async fn wait_for(log: &Log, n: usize, what: &str) {
    let t0 = Instant::now();
    while log.count.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(t0.elapsed() < Duration::from_secs(600), "{what}: stalled at {}", log.count.load(Ordering::Relaxed));
    }
}

async fn quiet_lag(server: &str, n: usize) -> Vec<f64> {
    let db = BenchDb::create(server, "alerts").await;
    let (endpoint, _) = receiver::start(false);
    let (alert_addr, alert_log) = receiver::start_with(false, true);
    failing_orgs(&db, n, &format!("http://{endpoint}/fail"), Some(&format!("http://{alert_addr}/alerts")), Utc::now()).await;
    fixture::vacuum(&db.pool).await;
    let d = dispatcher::Dispatcher::start(fixture::config(&db.url), Arc::new(dispatcher::SystemClock)).unwrap();
    wait_for(&alert_log, n, "alerts").await;
    d.shutdown().await;
    let lags = alert_lags(&db, &alert_log).await;
    stages(&db).await;
    db.drop_db().await;
    lags
}

/// Where the time goes: failure known → alert event written (the recorder's transaction) →
/// send fanned out (the sender's round).
async fn stages(db: &BenchDb) {
    let (raised, fanned): (Vec<f64>, Vec<f64>) = sqlx::query_as::<_, (f64, f64)>(
        "SELECT extract(epoch FROM a.created_at - e.finished_at)::float8 * 1000, extract(epoch FROM n.created_at - a.created_at)::float8 * 1000
           FROM alert_events a JOIN executions e ON e.id = a.execution_id JOIN notification_deliveries n ON n.alert_event_id = a.id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
    .into_iter()
    .unzip();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        percentile(&v, 0.5)
    };
    println!("median stages: failure → alert event {:.0} ms, → fanned out {:.0} ms, then claimed, sent and received", median(raised), median(fanned));
}

struct BurstRun {
    /// The burst's deliveries: arrival minus the due instant, ms, sorted.
    lags: Vec<f64>,
    alert_lags: Option<Vec<f64>>,
    /// When the first and the last alert arrived, ms after the due instant.
    alerts_arrived: Option<(f64, f64)>,
}

async fn burst_run(server: &str, alerts: usize, burst: usize, with_alerts: bool) -> BurstRun {
    let db = BenchDb::create(server, "alertburst").await;
    let (endpoint, log) = receiver::start(true);
    let (failing, _) = receiver::start(false);
    let (alert_addr, alert_log) = receiver::start_with(false, true);
    let alert_url = format!("http://{alert_addr}/alerts");
    let org = fixture::org(&db.pool).await;
    // due once everything is set up and the dispatcher has started
    let due = Utc::now() + chrono::Duration::seconds(8);
    fixture::executions(&db.pool, org, &format!("http://{endpoint}/hook"), due, burst).await;
    failing_orgs(&db, alerts, &format!("http://{failing}/fail"), with_alerts.then_some(alert_url.as_str()), due).await;
    fixture::vacuum(&db.pool).await;
    assert!(Utc::now() + chrono::Duration::seconds(2) < due, "set-up took too long; the burst would start late");
    let d = dispatcher::Dispatcher::start(fixture::config(&db.url), Arc::new(dispatcher::SystemClock)).unwrap();
    wait_for(&log, burst, "burst").await;
    if with_alerts {
        wait_for(&alert_log, alerts, "alerts").await;
    }
    d.shutdown().await;
    let mut lags: Vec<f64> = log.arrivals.lock().unwrap().iter().map(|a| (*a - due).num_microseconds().unwrap() as f64 / 1000.0).collect();
    lags.sort_by(f64::total_cmp);
    let alert_lags = if with_alerts { Some(alert_lags(&db, &alert_log).await) } else { None };
    let since_due = |a: &DateTime<Utc>| (*a - due).num_microseconds().unwrap() as f64 / 1000.0;
    let arrived: Vec<f64> = alert_log.bodies.lock().unwrap().iter().map(|(a, _)| since_due(a)).collect();
    let alerts_arrived = (!arrived.is_empty()).then(|| arrived.iter().fold((f64::MAX, f64::MIN), |(lo, hi), a| (lo.min(*a), hi.max(*a))));
    db.drop_db().await;
    BurstRun { lags, alert_lags, alerts_arrived }
}
