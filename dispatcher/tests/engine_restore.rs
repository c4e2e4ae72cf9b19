//! The restore runbook, tested: a database holding an organization with jobs, runs delivered and
//! runs still pending is dumped with `pg_dump --format=custom` and restored with `pg_restore`
//! into a fresh database (as the README's restore steps do), and a real dispatcher process
//! started on the copy delivers every pending run exactly once, a one-time job that was due after
//! the dump once, and nothing that was delivered before the dump again. The master key is not in
//! the dump: the restored dispatcher signs with the organization's secret only because it is
//! given the same `PRIKKE_ENCRYPTION_KEYS` (here the development key, as the fixtures use).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use dispatcher::SystemClock;
use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use support::process::Node;
use support::{Receiver, shared};
use uuid::Uuid;

/// The directory of the Postgres client tools whose major version is the server's: a dump made
/// by an older `pg_dump` than the server is refused, and a newer one may not restore into it.
/// `PRIKKE_PG_BIN`, then the Debian layout for that version, then `PATH`.
fn pg_tool(name: &str, server_major: u32) -> PathBuf {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(dir) = std::env::var("PRIKKE_PG_BIN") {
        candidates.push(PathBuf::from(dir).join(name));
    }
    candidates.push(PathBuf::from(format!("/usr/lib/postgresql/{server_major}/bin/{name}")));
    candidates.push(PathBuf::from(name));
    let mut seen = Vec::new();
    for c in candidates {
        let Ok(out) = Command::new(&c).arg("--version").output() else { continue };
        // "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let major = text.split_whitespace().nth(2).and_then(|v| v.split('.').next()).and_then(|m| m.parse::<u32>().ok());
        if major == Some(server_major) {
            return c;
        }
        seen.push(format!("{}: {}", c.display(), text.trim()));
    }
    panic!("no {name} of the server's major version {server_major} (apt-get install postgresql-client-{server_major}, or set PRIKKE_PG_BIN); found {seen:?}");
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
}

/// The restored database, dropped (connections and all) when the test ends, passed or not.
struct RestoredDb {
    psql: PathBuf,
    server: String,
    name: String,
}

impl Drop for RestoredDb {
    fn drop(&mut self) {
        let _ = Command::new(&self.psql).arg("-qX").arg(&self.server).arg("-c").arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).status();
    }
}

/// The webhook-ids the receiver saw, each with how many times it arrived.
fn arrivals(received: &[support::receiver::Received]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in received {
        *m.entry(r.header("webhook-id").to_owned()).or_insert(0) += 1;
    }
    m
}

/// The webhook-id of an execution: its message id as `msg_<32 hex>`.
async fn webhook_id(pool: &PgPool, execution_id: Uuid) -> String {
    let message: Uuid = sqlx::query_scalar("SELECT message_id FROM executions WHERE id = $1").bind(execution_id).fetch_one(pool).await.unwrap();
    format!("msg_{}", message.simple())
}

/// The id of `job`'s one execution once it succeeded (bounded poll of the database: a run is
/// recorded moments after its call arrives, and no signal crosses that boundary).
async fn succeeded_run_of(pool: &PgPool, job: Uuid) -> Uuid {
    support::eventually("the job's run succeeded", Duration::from_secs(20), || async {
        sqlx::query_scalar("SELECT id FROM executions WHERE job_id = $1 AND status = 'success'").bind(job).fetch_optional(pool).await.unwrap()
    })
    .await
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_restored_dump_delivers_each_pending_run_once_and_nothing_delivered_before_the_dump(pool: PgPool) {
    let receiver = Receiver::ok().await;
    let org = support::org(&pool, Tier::Pro).await;

    // Before the dump, a dispatcher delivers a one-time job's run and two queued calls.
    let d = support::start(&pool, shared(SystemClock), |_| {}).await;
    let now = Utc::now();
    let fired = support::job(&pool, org, json!({"name": "fired before", "url": receiver.url("/before/job"), "schedule": {"kind": "once", "at": (now + chrono::Duration::seconds(1)).to_rfc3339()}}), now).await;
    let mut delivered = Vec::new();
    for i in 0..2 {
        delivered.push(support::queue(&pool, org, &receiver.url(&format!("/before/queue/{i}")), now, 3, 1).await);
    }
    for id in &delivered {
        assert_eq!(support::wait_final(&pool, *id, Duration::from_secs(20)).await.status, "success");
    }
    delivered.push(succeeded_run_of(&pool, fired.id).await);
    d.shutdown().await;
    assert_eq!(receiver.received().len(), 3, "three calls before the dump");

    // With no dispatcher running: two queued calls and a "trigger now" of a yearly job wait,
    // and a one-time job falls due a moment after the dump.
    let now = Utc::now();
    let yearly = support::job(&pool, org, json!({"name": "new year", "url": receiver.url("/after/yearly"), "schedule": {"kind": "cron", "expr": "0 0 1 1 *"}}), now).await;
    let mut pending = Vec::new();
    for i in 0..2 {
        pending.push(support::queue(&pool, org, &receiver.url(&format!("/after/queue/{i}")), now, 3, 1).await);
    }
    let triggered = Uuid::now_v7();
    store::executions::enqueue(
        &pool,
        &store::executions::NewExecution {
            id: triggered,
            org_id: org,
            job_id: Some(yearly.id),
            source: store::executions::Source::Manual,
            scheduled_for: now,
            priority: 40,
            max_attempts: 3,
            retry_base_delay_secs: 1,
            retry_max_delay_secs: 60,
            message_id: triggered,
            method: "POST",
            url: &receiver.url("/after/trigger"),
            headers: &[],
            body: Some("{}"),
            timeout_secs: 5,
            redelivery_of: None,
            completion_window_secs: None,
        },
    )
    .await
    .unwrap();
    pending.push(triggered);
    let due_after = support::job(&pool, org, json!({"name": "due after the dump", "url": receiver.url("/after/job"), "schedule": {"kind": "once", "at": (now + chrono::Duration::seconds(2)).to_rfc3339()}}), now).await;
    let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM executions WHERE status = 'pending'").fetch_one(&pool).await.unwrap();
    assert_eq!(waiting, 3, "three runs pending at the dump");

    // Dump (custom format) and restore into a fresh database, with the server's own tools.
    let server_major: u32 = sqlx::query_scalar::<_, String>("SHOW server_version_num").fetch_one(&pool).await.unwrap().parse::<u32>().unwrap() / 10000;
    let (pg_dump, pg_restore, psql) = (pg_tool("pg_dump", server_major), pg_tool("pg_restore", server_major), pg_tool("psql", server_major));
    let source_url = support::database_url(&pool).await;
    let server_url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let base = source_url.rsplit_once('/').unwrap().0.to_owned();
    let dump = std::env::temp_dir().join(format!("prikke-restore-{}.dump", Uuid::new_v4().simple()));
    run(Command::new(&pg_dump).arg("--format=custom").arg("--file").arg(&dump).arg("--dbname").arg(&source_url));
    let restored = RestoredDb { psql: psql.clone(), server: server_url, name: format!("prikke_restore_{}", Uuid::new_v4().simple()) };
    run(Command::new(&psql).arg("-qX").arg(&restored.server).arg("-c").arg(format!("CREATE DATABASE {}", restored.name)));
    let restored_url = format!("{base}/{}", restored.name);
    run(Command::new(&pg_restore).arg("--no-owner").arg("--no-privileges").arg("--exit-on-error").arg("--dbname").arg(&restored_url).arg(&dump));
    std::fs::remove_file(&dump).unwrap();
    let copy = sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(&restored_url).await.unwrap();
    let rows: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, status FROM executions ORDER BY id").fetch_all(&copy).await.unwrap();
    let original: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, status FROM executions ORDER BY id").fetch_all(&pool).await.unwrap();
    assert_eq!(rows, original, "the copy holds the same runs in the same states");

    // A real dispatcher on the copy (the development master key, as the fixtures sealed with).
    let mut node = Node::start("restored", &restored_url, &[]).await;
    let got = receiver.wait_for(3 + 4, Duration::from_secs(30)).await;
    for id in &pending {
        assert_eq!(support::wait_final(&copy, *id, Duration::from_secs(20)).await.status, "success");
    }
    let after_job = succeeded_run_of(&copy, due_after.id).await;
    support::eventually("every run final and unleased on the copy", Duration::from_secs(20), || async {
        let open: i64 = sqlx::query_scalar("SELECT count(*) FROM executions WHERE status NOT IN ('success', 'failed', 'timeout', 'skipped', 'cancelled') OR leased_by IS NOT NULL")
            .fetch_one(&copy)
            .await
            .unwrap();
        (open == 0).then_some(())
    })
    .await;
    // stopped (and exited) before counting: nothing more can arrive after this
    let status = node.terminate().await;
    assert_eq!(status.code(), Some(0), "the restored dispatcher stopped with {status}");

    let all = receiver.received();
    assert!(all.len() >= got.len());
    let seen = arrivals(&all);
    let mut expected = BTreeSet::new();
    for id in &delivered {
        expected.insert(webhook_id(&pool, *id).await);
    }
    let before: BTreeSet<String> = expected.clone();
    for id in pending.iter().chain([&after_job]) {
        expected.insert(webhook_id(&copy, *id).await);
    }
    assert_eq!(seen.keys().cloned().collect::<BTreeSet<_>>(), expected, "exactly the runs delivered before the dump and those pending at it (or due after it)");
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let after_dump: Vec<&support::receiver::Received> = all[3..].iter().collect();
    assert_eq!(after_dump.len(), 4);
    assert!(after_dump.iter().all(|r| !before.contains(r.header("webhook-id"))), "a run delivered before the dump came again");
    assert!(after_dump.iter().all(|r| r.path.starts_with("/after/")), "{:?}", after_dump.iter().map(|r| &r.path).collect::<Vec<_>>());
    assert!(!after_dump.iter().any(|r| r.path == "/after/yearly"), "the yearly job is not due");
    for r in &after_dump {
        assert!(
            support::verify_by_hand(support::SECRET, r.header("webhook-id"), r.header("webhook-timestamp"), r.header("webhook-signature"), &r.body),
            "signed with the organization's secret, opened on the copy with the same master key"
        );
    }
    copy.close().await;
}
