//! `GET /api/v1/export` (and `/app/export`) through the real router against a real database: an
//! organization with data of every kind exports all of it, in the documented shape, with the
//! header first and a trailer counting the records; no secret appears anywhere in the body;
//! another organization's rows never appear; members who are not admins are refused; a second
//! export of the same organization while one runs is refused; the export is audited.

mod support;
#[path = "support/web.rs"]
mod web;

use std::collections::BTreeMap;

use api_fn::{AppState, router};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use domain::tier::Tier;
use serde_json::{Value, json};
use sqlx::PgPool;
use support::{Api, hourly};
use web::{Web, link_in_mail};

const PASSWORD: &str = "correct horse battery";
const CREDENTIAL: &str = "Bearer plain-credential-0123456789abcdef";
const WEBHOOK: &str = "https://hooks.slack.com/services/T0/B0/channelsecretXYZW";

fn browser(pool: &PgPool) -> Web {
    Web::new(router(AppState::new(pool.clone(), support::config(&[]))))
}

/// Signs up and confirms `email` (no organization of their own); returns the user's id.
async fn user(pool: &PgPool, w: &mut Web, email: &str) -> uuid::Uuid {
    let done = w.submit("/app/signup", "/app/signup", &[("email", email), ("password", PASSWORD)]).await;
    assert!(done.contains("Check your e-mail"), "{}", done.html);
    let link = link_in_mail(pool, email, "/app/confirm/").await;
    let signed_in = w.submit(&link, &link, &[]).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.html);
    store::users::by_email(pool, email).await.unwrap().unwrap().id
}

/// The body's lines, parsed (each must be one JSON object).
fn records(text: &str) -> Vec<Value> {
    assert!(text.ends_with('\n'), "every line ends with a newline");
    text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).inspect(|v| assert!(v.is_object(), "{v}")).collect()
}

fn of_type<'a>(recs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["type"] == kind).collect()
}

async fn export(api: &Api, key: &str) -> (StatusCode, String, String) {
    let r = api.get("/api/v1/export", key).await;
    let ct = r.headers.get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (r.status, ct, r.text)
}

/// Everything of a second organization, to be sure none of it leaks into the first's export.
async fn other_organization(api: &Api) -> (api_fn::provision::Provisioned, Vec<String>) {
    let other = api.org("other", Tier::Pro).await;
    let job = api.job(&other.api_key, json!({"name": "other-secret-job", "url": "https://other.example/hook", "schedule": {"kind": "cron", "expr": "0 * * * *"}})).await;
    let run = api.post(&format!("/api/v1/jobs/{job}/trigger"), &other.api_key, json!({})).await;
    assert_eq!(run.status, StatusCode::ACCEPTED, "{run:?}");
    let monitor = api.post("/api/v1/monitors", &other.api_key, json!({"name": "other-monitor", "schedule": {"kind": "interval", "interval_secs": 3600}})).await;
    assert_eq!(monitor.status, StatusCode::CREATED, "{monitor:?}");
    let ids = vec![other.org_id.to_string(), job, run.id(), monitor.id(), other.api_key_id.to_string(), "other-secret-job".into(), "other-monitor".into()];
    (other, ids)
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_organization_exports_all_of_its_data_and_nothing_else(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let key = org.api_key.clone();

    // members: an owner and a member who signed up through the web app (real password hashes)
    let mut owner_web = browser(&pool);
    let owner = user(&pool, &mut owner_web, "owner@example.com").await;
    store::users::upsert_membership(&pool, org.org_id, owner, store::users::Role::Owner).await.unwrap();
    let mut member_web = browser(&pool);
    let member = user(&pool, &mut member_web, "member@example.com").await;
    store::users::upsert_membership(&pool, org.org_id, member, store::users::Role::Member).await.unwrap();
    // an invitation, made by the owner in the web app (its link's hash stays behind)
    let invited = owner_web.submit("/app/members", "/app/members/invite", &[("email", "new@example.com"), ("role", "member")]).await;
    assert!(invited.status.is_success() || invited.status.is_redirection(), "{} {}", invited.status, invited.html);

    // a second key (its token must not appear)
    let second = api.post("/api/v1/api-keys", &key, json!({"name": "deploy"})).await;
    assert_eq!(second.status, StatusCode::CREATED, "{second:?}");
    let second_token = second.json["token"].as_str().unwrap().to_owned();

    // jobs, one with a credential header (stored sealed, shown masked)
    let mut with_credential = hourly("billing");
    with_credential["headers"] = json!([{"name": "Authorization", "value": CREDENTIAL}, {"name": "X-Team", "value": "payments"}]);
    let job = api.job(&key, with_credential).await;
    let plain_job = api.job(&key, hourly("cleanup")).await;
    let sealed: String = sqlx::query_scalar("SELECT headers::text FROM jobs WHERE id = $1::uuid").bind(&job).fetch_one(&pool).await.unwrap();
    assert!(sealed.contains("sealed:v1") && !sealed.contains("plain-credential"), "the credential is stored sealed: {sealed}");

    // executions: three runs, one of them retried (an earlier attempt)
    let mut runs = Vec::new();
    for _ in 0..3 {
        let r = api.post(&format!("/api/v1/jobs/{job}/trigger"), &key, json!({})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
        runs.push(r.id());
    }
    support::finish(&pool, &runs[0], "failed").await;
    sqlx::query("INSERT INTO execution_attempts (execution_id, attempt, status, started_at, finished_at, duration_ms, response_status, error) VALUES ($1::uuid, 1, 'failed', now(), now(), 12, 503, 'unavailable')")
        .bind(&runs[0])
        .execute(&pool)
        .await
        .unwrap();

    // a monitor with two pings
    let monitor = api.post("/api/v1/monitors", &key, json!({"name": "backup", "schedule": {"kind": "interval", "interval_secs": 3600}})).await;
    assert_eq!(monitor.status, StatusCode::CREATED, "{monitor:?}");
    let ping_path = monitor.json["ping_url"].as_str().unwrap().replace("https://prikke.test", "");
    for path in [format!("{ping_path}/start"), ping_path.clone()] {
        let r = api.send(Request::builder().method(Method::GET).uri(&path).body(Body::empty()).unwrap()).await;
        assert!(r.status.is_success(), "{path}: {r:?}");
    }

    // a webhook channel (its URL is a credential: shown masked), an alert event and its delivery
    let channel = api.post("/api/v1/notification-channels", &key, json!({"name": "On-call", "kind": "webhook", "target": WEBHOOK, "events": ["job.failed"]})).await;
    assert_eq!(channel.status, StatusCode::CREATED, "{channel:?}");
    let event: uuid::Uuid = sqlx::query_scalar("INSERT INTO alert_events (org_id, kind, job_id, execution_id, details, processed_at) VALUES ($1, 'job_failed', $2::uuid, $3::uuid, '{\"status\": \"failed\"}', now()) RETURNING id")
        .bind(org.org_id)
        .bind(&job)
        .bind(&runs[0])
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO notification_deliveries (alert_event_id, channel_id, org_id, status, attempts, sent_at, response_status) VALUES ($1, $2::uuid, $3, 'sent', 1, now(), 200)")
        .bind(event)
        .bind(channel.id())
        .bind(org.org_id)
        .execute(&pool)
        .await
        .unwrap();

    // usage counters of two months
    sqlx::query("INSERT INTO usage_counters (org_id, month, executions, over_quota) VALUES ($1, '2026-11-01', 120, 0), ($1, '2026-12-01', 3, 1)")
        .bind(org.org_id)
        .execute(&pool)
        .await
        .unwrap();

    let (_other, other_ids) = other_organization(&api).await;

    let (status, content_type, text) = export(&api, &key).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(content_type, "application/x-ndjson");
    let recs = records(&text);

    // the header first, the trailer last, counting the records between
    let header = &recs[0];
    assert_eq!((header["type"].as_str(), header["org_id"].as_str(), header["format_version"].as_u64()), (Some("export"), Some(org.org_id.to_string().as_str()), Some(1)));
    let excluded: Vec<&str> = header["excluded"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(excluded.contains(&"signing_secrets") && excluded.contains(&"password_hashes"), "{excluded:?}");
    let end = recs.last().unwrap();
    assert_eq!(end["type"], "end");
    assert_eq!(end["records"].as_u64(), Some(recs.len() as u64 - 2), "the trailer counts every record between header and trailer");
    assert_eq!(of_type(&recs, "export").len() + of_type(&recs, "end").len(), 2);

    // every kind, with the right counts
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in &recs[1..recs.len() - 1] {
        *counts.entry(r["type"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    let audit_entries: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE org_id = $1").bind(org.org_id).fetch_one(&pool).await.unwrap();
    let expected: BTreeMap<String, usize> = [
        ("organization", 1),
        ("member", 2),
        ("invite", 1),
        ("api_key", 2),
        ("job", 2),
        ("monitor", 1),
        ("notification_channel", 1),
        ("execution", 3),
        ("ping", 2),
        ("alert_event", 1),
        ("notification_delivery", 1),
        ("audit_log", audit_entries as usize),
        ("usage", 2),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_owned(), n))
    .collect();
    assert_eq!(counts, expected);

    // the fields, as the API shows them
    let organization = of_type(&recs, "organization")[0];
    assert_eq!((organization["id"].as_str(), organization["slug"].as_str(), organization["tier"].as_str()), (Some(org.org_id.to_string().as_str()), Some("acme"), Some("pro")));
    let members: BTreeMap<&str, &str> = of_type(&recs, "member").iter().map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap())).collect();
    assert_eq!(members, BTreeMap::from([("member@example.com", "member"), ("owner@example.com", "owner")]));
    assert!(of_type(&recs, "member").iter().all(|m| m.get("password_hash").is_none()));
    let invite = of_type(&recs, "invite")[0];
    assert_eq!((invite["email"].as_str(), invite["role"].as_str(), invite["invited_by"].as_str()), (Some("new@example.com"), Some("member"), Some(owner.to_string().as_str())));
    assert!(invite.get("token_hash").is_none());
    let keys: Vec<&str> = of_type(&recs, "api_key").iter().map(|k| k["prefix"].as_str().unwrap()).collect();
    assert!(keys.iter().all(|p| p.starts_with("pk_live_")) && keys.iter().any(|p| org.api_key.starts_with(p)), "{keys:?}");
    let billing = of_type(&recs, "job").into_iter().find(|j| j["id"] == job.as_str()).unwrap();
    let auth = billing["headers"].as_array().unwrap().iter().find(|h| h["name"] == "Authorization").unwrap();
    assert!(auth["value"].as_str().unwrap().starts_with("********"), "masked as the API masks it: {auth}");
    assert!(of_type(&recs, "job").iter().any(|j| j["id"] == plain_job.as_str()));
    let first = of_type(&recs, "execution").into_iter().find(|e| e["id"] == runs[0].as_str()).unwrap();
    assert_eq!((first["status"].as_str(), first["job_id"].as_str(), first["response"]["status"].as_i64()), (Some("failed"), Some(job.as_str()), Some(500)));
    assert_eq!(first["attempts"], json!([{"attempt": 1, "status": "failed", "started_at": first["attempts"][0]["started_at"], "finished_at": first["attempts"][0]["finished_at"], "duration_ms": 12, "response_status": 503, "error": "unavailable"}]));
    let shown = first["request"]["headers"].as_array().unwrap().iter().find(|h| h["name"] == "Authorization").unwrap();
    assert!(shown["value"].as_str().unwrap().starts_with("********"), "{shown}");
    let pings: Vec<&str> = of_type(&recs, "ping").iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert_eq!(pings, ["start", "success"]);
    assert!(of_type(&recs, "ping").iter().all(|p| p["monitor_id"] == monitor.id().as_str()));
    let ch = of_type(&recs, "notification_channel")[0];
    assert_eq!(ch["target"].as_str(), Some("https://hooks.slack.com/…XYZW"));
    assert_eq!(of_type(&recs, "alert_event")[0]["id"].as_str(), Some(event.to_string().as_str()));
    assert_eq!(of_type(&recs, "notification_delivery")[0]["status"].as_str(), Some("sent"));
    let usage: Vec<(&str, i64)> = of_type(&recs, "usage").iter().map(|u| (u["month"].as_str().unwrap(), u["executions"].as_i64().unwrap())).collect();
    assert_eq!(usage, [("2026-11-01", 120), ("2026-12-01", 3)]);
    // the export is audited, by the key that asked, and shows in its own audit records
    let audit = of_type(&recs, "audit_log");
    let exported = audit.iter().find(|a| a["action"] == "org.exported").expect("the export's own entry");
    assert_eq!((exported["actor_kind"].as_str(), exported["actor_id"].as_str()), (Some("api_key"), Some(org.api_key_id.to_string().as_str())));
    assert!(audit.iter().any(|a| a["action"] == "api_key.created"));

    // no secret anywhere: keys' secrets and hashes, the signing secret, the plain credential and
    // the webhook URL, password hashes, sealed values
    let key_secret = org.api_key.split_once('.').unwrap().1;
    let second_secret = second_token.split_once('.').unwrap().1;
    for secret in [key_secret, second_secret, org.signing_secret.as_str(), "plain-credential-0123456789abcdef", "channelsecret", "$argon2", "sealed:v1", "whsec_"] {
        assert!(!text.contains(secret), "{secret:?} appears in the export");
    }
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT secret_hash FROM api_keys WHERE org_id = $1").bind(org.org_id).fetch_all(&pool).await.unwrap();
    for h in hashes {
        let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!text.contains(&hex), "a key hash appears");
    }
    let password_hashes: Vec<String> = sqlx::query_scalar("SELECT password_hash FROM users WHERE password_hash IS NOT NULL").fetch_all(&pool).await.unwrap();
    assert_eq!(password_hashes.len(), 2, "the check above means something only if the hashes exist");
    // another organization's rows never appear
    for id in &other_ids {
        assert!(!text.contains(id.as_str()), "another organization's {id} appears");
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn only_admins_export_and_one_export_runs_at_a_time(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let mut member_web = browser(&pool);
    let member = user(&pool, &mut member_web, "member@example.com").await;
    store::users::upsert_membership(&pool, org.org_id, member, store::users::Role::Member).await.unwrap();
    let mut admin_web = browser(&pool);
    let admin = user(&pool, &mut admin_web, "admin@example.com").await;
    store::users::upsert_membership(&pool, org.org_id, admin, store::users::Role::Admin).await.unwrap();

    // a member (not an admin) is refused, and nothing is recorded
    let refused = member_web.submit("/app/jobs", "/app/export", &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    assert!(refused.html.contains("Only the organization's admins and owners"), "{}", refused.html);
    // an admin's browser without the form token (another site's form) changes nothing either
    let forged = admin_web.post_raw("/app/export", &[("csrf", "0000")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.html);
    let exports = || async { sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_log WHERE action = 'org.exported'").fetch_one(&pool).await.unwrap() };
    assert_eq!(exports().await, 0);
    // signed out: to the sign-in page
    let mut stranger = browser(&pool);
    assert_eq!(stranger.post_raw("/app/export", &[("csrf", "0000")]).await.status, StatusCode::SEE_OTHER);
    // no key, a wrong key: 401 problems
    let r = api.get("/api/v1/export", "pk_live_0123456789abcdef01234567.sk_live_nope").await;
    assert_eq!((r.status, r.problem()), (StatusCode::UNAUTHORIZED, "unauthorized"));

    // an admin exports from the web app, recorded as theirs
    let audit_page = admin_web.get("/app/audit").await;
    assert!(audit_page.contains(r#"action="/app/export""#), "the audit page offers the export: {}", audit_page.html);
    let page = admin_web.submit("/app/audit", "/app/export", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.headers["content-type"], "application/x-ndjson");
    assert!(page.headers["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"prikke-export-acme-"));
    let recs = records(&page.html);
    assert_eq!(recs.last().unwrap()["records"].as_u64(), Some(recs.len() as u64 - 2));
    let actor: Option<uuid::Uuid> = sqlx::query_scalar("SELECT actor_user_id FROM audit_log WHERE action = 'org.exported'").fetch_one(&pool).await.unwrap();
    assert_eq!(actor, Some(admin));

    // while an export holds the organization's lock, another is refused with 409, changing nothing
    let held = store::exports::try_lock(&pool, org.org_id).await.unwrap().expect("free once the export finished");
    let r = api.get("/api/v1/export", &org.api_key).await;
    assert_eq!((r.status, r.problem()), (StatusCode::CONFLICT, "conflict"), "{r:?}");
    assert_eq!(exports().await, 1, "a refused export is not recorded");
    // another organization is not held up
    let other = api.org("other", Tier::Free).await;
    assert_eq!(api.get("/api/v1/export", &other.api_key).await.status, StatusCode::OK);
    held.release().await;
    let (status, _, text) = export(&api, &org.api_key).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.ends_with(&format!("{{\"type\":\"end\",\"records\":{}}}\n", records(&text).len() - 2)), "the trailer, byte for byte: {text}");
}
