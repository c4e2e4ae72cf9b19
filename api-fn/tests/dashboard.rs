//! The dashboard's pages through the real router with a cookie-keeping client: the start page's
//! counts, failures, usage and chart; the job form's presets, preview and the plan's rules; a
//! job's actions (run now, pause, resume, delete after asking); an execution's request (secrets
//! masked), response and attempts, and its redelivery; the organization-wide history and its
//! filters; monitors; and every route answering 404 for another organization's ids.

mod support;
#[path = "support/web.rs"]
mod web;

use api_fn::{AppState, router};
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use sqlx::PgPool;
use store::executions::{NewExecution, Source};
use uuid::Uuid;
use web::{Page, Web};

/// A browser signed in as `email`, owner of a new organization `org`; returns its id too.
async fn owner(pool: &PgPool, email: &str, org: &str) -> (Web, Uuid) {
    let mut w = Web::new(router(AppState::new(pool.clone(), support::config(&[]))));
    let id = web::sign_up(pool, &mut w, email, Some(org)).await.expect("an organization");
    (w, id)
}

async fn pro(pool: &PgPool, org: Uuid) {
    sqlx::query("UPDATE organizations SET tier = 'pro' WHERE id = $1").bind(org).execute(pool).await.unwrap();
}

/// Creates a job through the form; returns its id.
async fn create_job(w: &mut Web, fields: &[(&str, &str)]) -> Uuid {
    let mut all = vec![("intent", "create")];
    all.extend_from_slice(fields);
    let made = w.submit("/app/jobs/new", "/app/jobs/new", &all).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.html);
    let to = made.location().unwrap();
    assert!(to.ends_with("?done=created"), "{to}");
    to.trim_start_matches("/app/jobs/").trim_end_matches("?done=created").parse().unwrap()
}

/// A job's headers as stored (sealed) and opened with its organization's key.
async fn stored_headers(pool: &PgPool, job: Uuid) -> (String, String) {
    let (org, h): (Uuid, sqlx::types::Json<Vec<(String, String)>>) = sqlx::query_as("SELECT org_id, headers FROM jobs WHERE id = $1").bind(job).fetch_one(pool).await.unwrap();
    let key = store::keyring::Keyring::development().org_key(pool, org).await.unwrap();
    (format!("{:?}", h.0), format!("{:?}", key.open_headers(&h.0).unwrap()))
}

/// Records a finished run of `job` as the dispatcher would.
async fn finished(pool: &PgPool, org: Uuid, job: Option<Uuid>, status: &str, code: Option<i16>, error: Option<&str>, ago: Duration) -> Uuid {
    let id = Uuid::now_v7();
    let headers = vec![("Authorization".to_owned(), "Bearer super-secret-token-1234".to_owned()), ("X-Trace".to_owned(), "t-1".to_owned())];
    store::executions::enqueue(pool, &NewExecution {
        id, org_id: org, job_id: job, source: Source::Manual, scheduled_for: Utc::now() - ago, priority: 40, max_attempts: 3, retry_base_delay_secs: 10,
        retry_max_delay_secs: 60, message_id: id, method: "POST", url: "https://example.com/hook", headers: &headers, body: Some("{\"n\":1}"),
        timeout_secs: 30, redelivery_of: None, completion_window_secs: None,
    })
    .await
    .unwrap();
    sqlx::query(
        "UPDATE executions SET status = $2, attempt = 2, started_at = scheduled_for, finished_at = scheduled_for, duration_ms = 87, response_status = $3,
                response_headers = '[[\"Content-Type\", \"text/plain\"], [\"Set-Cookie\", \"session=abcdefghijklmnopqrstuvwxyz\"]]', response_body = 'the receiver said no', error = $4
          WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(code)
    .bind(error)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO execution_attempts (execution_id, attempt, status, started_at, finished_at, duration_ms, response_status, error) VALUES ($1, 1, 'failed', now(), now(), 41, 503, 'first try: 503')")
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
    id
}

fn ok(p: &Page) {
    assert_eq!(p.status, StatusCode::OK, "{}", p.html);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn home_shows_counts_failures_upcoming_usage_and_chart(pool: PgPool) {
    let (mut w, org) = owner(&pool, "ada@example.com", "Acme").await;
    let empty = w.get("/app").await;
    ok(&empty);
    assert!(empty.contains("No jobs yet") && empty.contains("/app/jobs/new"), "an empty state that says what to do: {}", empty.html);
    let job = create_job(&mut w, &[("name", "Nightly report"), ("url", "https://example.com/hook"), ("kind", "hourly"), ("minute", "0")]).await;
    finished(&pool, org, Some(job), "success", Some(200), None, Duration::minutes(30)).await;
    finished(&pool, org, Some(job), "failed", Some(500), Some("HTTP 500 from the endpoint"), Duration::minutes(20)).await;
    finished(&pool, org, None, "timeout", None, Some("no answer within 30 s"), Duration::minutes(10)).await;
    finished(&pool, org, Some(job), "success", Some(200), None, Duration::hours(30)).await;

    let home = w.get("/app").await;
    ok(&home);
    assert!(home.contains(r#"data-testid="runs-24h">3<"#), "three runs in 24 h: {}", home.html);
    assert!(home.contains(r#"data-testid="success-rate">33.3 %<"#), "{}", home.html);
    assert!(home.contains("HTTP 500 from the endpoint") && home.contains("no answer within 30 s"), "failures with their last error");
    assert!(home.contains("Nightly report"), "the failing job is named");
    assert!(home.contains(r#"data-testid="runs-chart""#), "{}", home.html);
    assert!(home.contains("Runs per hour over the last 24 hours: 1 succeeded, 2 failed"), "the chart's summary: {}", home.html);
    assert!(home.contains("Jobs: <strong>1</strong> of 5") && home.contains("Upgrade to Pro"), "usage against the Free plan: {}", home.html);
    assert!(home.contains("Due in the next hour") && home.contains(&format!("/app/jobs/{job}")), "the hourly job is due within the hour");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_job_form_previews_presets_and_applies_the_plans_rules(pool: PgPool) {
    let (mut w, org) = owner(&pool, "ada@example.com", "Acme").await;
    let form = w.get("/app/jobs/new").await;
    ok(&form);
    assert!(form.contains("Every N minutes") && form.contains(r#"<option selected>UTC</option>"#) && form.contains("<option>Europe/Oslo</option>"), "presets and the zone picker");

    let every5 = [("name", "Sync"), ("url", "https://example.com/sync"), ("kind", "minutes"), ("every", "5"), ("timezone", "Europe/Oslo")];
    let mut preview = vec![("intent", "preview")];
    preview.extend_from_slice(&every5);
    let shown = w.submit("/app/jobs/new", "/app/jobs/new", &preview).await;
    ok(&shown);
    assert!(shown.contains("*/5 * * * *") && shown.contains("Europe/Oslo"), "{}", shown.html);
    assert_eq!(shown.html.matches("CET · ").count() + shown.html.matches("CEST · ").count(), 5, "five runs in Oslo time: {}", shown.html);
    assert!(shown.contains("The Free plan runs a job at most every 60 minutes"), "the plan's rule, before saving: {}", shown.html);
    let fragment = w.get("/app/jobs/preview?kind=daily&time=07:30&timezone=Europe/Oslo").await;
    assert!(fragment.contains("30 7 * * *") && !fragment.contains("<html"), "the live preview is a fragment: {}", fragment.html);

    // Free: every 5 minutes is refused with the plan's words, nothing is saved
    let mut create = vec![("intent", "create")];
    create.extend_from_slice(&every5);
    let refused = w.submit("/app/jobs/new", "/app/jobs/new", &create).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("The job was not saved") && refused.contains("schedule:"), "{}", refused.html);
    let bad = w.submit("/app/jobs/new", "/app/jobs/new", &[("intent", "create"), ("name", ""), ("url", "ftp://x"), ("kind", "daily"), ("time", "09:00")]).await;
    assert!(bad.contains("name:") && bad.contains("url:"), "every field's problem at once: {}", bad.html);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 0);

    pro(&pool, org).await;
    let id = create_job(&mut w, &every5).await;
    let page = w.get(&format!("/app/jobs/{id}?done=created")).await;
    ok(&page);
    assert!(page.contains("The job is saved") && page.contains("Sync") && page.contains("Europe/Oslo"), "{}", page.html);
    assert!(page.contains(&format!("/api/v1/jobs/{id}/trigger")), "a copyable API example with the job's id");
    let (expr, tz): (String, String) = sqlx::query_as("SELECT cron_expr, timezone FROM jobs WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
    assert_eq!((expr.as_str(), tz.as_str()), ("*/5 * * * *", "Europe/Oslo"));
    let list = w.get("/app/jobs").await;
    assert!(list.contains("Sync") && list.contains("enabled") && list.contains("never"), "{}", list.html);
    assert!(w.get("/app/jobs?q=syn").await.contains("Sync"));
    assert!(!w.get("/app/jobs?q=nothing-like-it").await.contains(">Sync<"));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_job_runs_now_pauses_resumes_duplicates_and_is_deleted_after_asking(pool: PgPool) {
    let (mut w, _) = owner(&pool, "ada@example.com", "Acme").await;
    let job = create_job(&mut w, &[("name", "Report"), ("url", "https://example.com/r"), ("kind", "daily"), ("time", "03:00"), ("headers", "Authorization: Bearer abcdefghijklmnopqrstuvwxyz")]).await;
    let page = format!("/app/jobs/{job}");

    let ran = w.submit(&page, &format!("{page}/trigger"), &[]).await;
    assert_eq!(ran.location(), Some(format!("{page}?done=triggered").as_str()));
    let after = w.follow(&ran).await;
    assert!(after.contains("A run is on its way") && after.contains("pending"), "{}", after.html);
    let live = w.get(&format!("{page}/history")).await;
    assert!(live.contains("pending") && live.contains("manual") && !live.contains("<html"), "the live fragment: {}", live.html);

    let paused = w.submit(&page, &format!("{page}/pause"), &[]).await;
    let shown = w.follow(&paused).await;
    assert!(shown.contains("Paused: no new runs") && shown.contains(">Resume<"), "{}", shown.html);
    let enabled: bool = sqlx::query_scalar("SELECT enabled FROM jobs WHERE id = $1").bind(job).fetch_one(&pool).await.unwrap();
    assert!(!enabled);
    let resumed = w.submit(&page, &format!("{page}/resume"), &[]).await;
    assert!(w.follow(&resumed).await.contains("Resumed"));

    // duplicate: the secret header is shown masked in the form, and the copy keeps the real value
    let dup = w.get(&format!("/app/jobs/new?from={job}")).await;
    assert!(dup.contains("Copy of Report") && dup.contains("Authorization: ********wxyz") && !dup.contains("abcdefghijklmnop"), "{}", dup.html);
    let copy = create_job(&mut w, &[("from", &job.to_string()), ("name", "Copy of Report"), ("url", "https://example.com/r"), ("kind", "cron"), ("cron", "0 3 * * *"), ("headers", "Authorization: ********wxyz")]).await;
    let (raw, stored) = stored_headers(&pool, copy).await;
    assert!(stored.contains("abcdefghijklmnopqrstuvwxyz") && !raw.contains("abcdefghijklmnop"), "kept, and sealed at rest: {raw} / {stored}");
    let (raw, _) = stored_headers(&pool, job).await;
    assert!(!raw.contains("abcdefghijklmnop"), "a job made in the dashboard is sealed at rest: {raw}");

    // edit: a paused job stays paused, keeps its secret (shown masked) and its sync key
    sqlx::query("UPDATE jobs SET key = 'report-key' WHERE id = $1").bind(job).execute(&pool).await.unwrap();
    w.submit(&page, &format!("{page}/pause"), &[]).await;
    let form = w.get(&format!("{page}/edit")).await;
    ok(&form);
    assert!(form.contains(r#"value="Report""#) && form.contains("Authorization: ********wxyz") && form.contains("Save changes") && form.contains("0 3 * * *"), "{}", form.html);
    let saved = w.submit(&format!("{page}/edit"), &format!("{page}/edit"), &[("intent", "create"), ("name", "Report v2"), ("url", "https://example.com/r2"), ("kind", "hourly"), ("minute", "15"), ("headers", "Authorization: ********wxyz")]).await;
    assert_eq!(saved.location(), Some(format!("{page}?done=saved").as_str()), "{}", saved.html);
    assert!(w.follow(&saved).await.contains("Your changes are saved"));
    let (name, expr, enabled, key): (String, String, bool, Option<String>) =
        sqlx::query_as("SELECT name, cron_expr, enabled, key FROM jobs WHERE id = $1").bind(job).fetch_one(&pool).await.unwrap();
    assert_eq!((name.as_str(), expr.as_str(), enabled, key.as_deref()), ("Report v2", "15 * * * *", false, Some("report-key")));
    let (_, headers) = stored_headers(&pool, job).await;
    assert!(headers.contains("abcdefghijklmnopqrstuvwxyz"), "the secret is kept: {headers}");
    let refused = w.submit(&format!("{page}/edit"), &format!("{page}/edit"), &[("intent", "create"), ("name", "Report v3"), ("url", "https://example.com/r2"), ("kind", "minutes"), ("every", "5")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "every 5 minutes is not the Free plan's: {}", refused.html);
    let name: String = sqlx::query_scalar("SELECT name FROM jobs WHERE id = $1").bind(job).fetch_one(&pool).await.unwrap();
    assert_eq!(name, "Report v2");

    let ask = w.get(&format!("{page}/delete")).await;
    assert!(ask.contains("Delete the job?") && ask.contains("This cannot be undone"), "{}", ask.html);
    assert_eq!(sqlx::query_scalar::<_, i64>("SELECT count(*) FROM jobs WHERE id = $1").bind(job).fetch_one(&pool).await.unwrap(), 1, "asking deletes nothing");
    let gone = w.submit(&format!("{page}/delete"), &format!("{page}/delete"), &[]).await;
    assert_eq!(gone.location(), Some("/app/jobs?done=deleted"));
    assert!(w.follow(&gone).await.contains("The job is deleted"));
    assert_eq!(w.get(&page).await.status, StatusCode::NOT_FOUND);
    let cancelled: String = sqlx::query_scalar("SELECT status FROM executions WHERE source = 'manual'").fetch_one(&pool).await.unwrap();
    assert_eq!(cancelled, "cancelled", "its run that had not started");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_execution_shows_request_masked_response_attempts_and_is_redelivered(pool: PgPool) {
    let (mut w, org) = owner(&pool, "ada@example.com", "Acme").await;
    let job = create_job(&mut w, &[("name", "Report"), ("url", "https://example.com/r"), ("kind", "daily"), ("time", "03:00")]).await;
    let e = finished(&pool, org, Some(job), "failed", Some(503), Some("HTTP 503"), Duration::minutes(3)).await;
    let page = w.get(&format!("/app/executions/{e}")).await;
    ok(&page);
    assert!(page.contains("Authorization: ********1234") && !page.contains("super-secret-token"), "the request's credential is masked: {}", page.html);
    assert!(page.contains("X-Trace: t-1") && page.contains("{&quot;n&quot;:1}"), "headers and body as sent");
    assert!(page.contains(r#"data-testid="response-status">HTTP <strong>503</strong>"#) && page.contains("the receiver said no"), "{}", page.html);
    assert!(page.contains("Set-Cookie: ********wxyz") && !page.contains("session=abc"), "the response's cookie is masked too");
    assert!(page.contains("first try: 503") && page.contains("41 ms"), "the earlier attempt");
    assert!(page.contains(&format!("msg_{}", e.simple())), "the webhook-id");

    let again = w.submit(&format!("/app/executions/{e}"), &format!("/app/executions/{e}/redeliver"), &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.html);
    let copy = w.follow(&again).await;
    ok(&copy);
    assert!(copy.contains("redelivery") && copy.contains("an earlier execution") && copy.contains("Not finished yet"), "{}", copy.html);
    let (source, of): (String, Option<Uuid>) = sqlx::query_as("SELECT source, redelivery_of FROM executions WHERE redelivery_of IS NOT NULL").fetch_one(&pool).await.unwrap();
    assert_eq!((source.as_str(), of), ("redelivery", Some(e)));
    // the failed runs of a range, again: the one already redelivered is skipped, an older one is not
    let older = finished(&pool, org, Some(job), "timeout", None, Some("no answer"), Duration::hours(2)).await;
    let from = (Utc::now() - Duration::hours(3)).format("%Y-%m-%dT%H:%M").to_string();
    let bulk = w.submit(&format!("/app/jobs/{job}"), &format!("/app/jobs/{job}/redeliver-failed"), &[("from", &from), ("to", "")]).await;
    assert_eq!(bulk.location(), Some(format!("/app/jobs/{job}?done=redelivered&count=1").as_str()), "{}", bulk.html);
    assert!(w.follow(&bulk).await.contains("1 run(s) enqueued"));
    let of: Vec<Uuid> = sqlx::query_scalar("SELECT redelivery_of FROM executions WHERE redelivery_of IS NOT NULL ORDER BY created_at").fetch_all(&pool).await.unwrap();
    assert_eq!(of, vec![e, older]);
    // a run that has not finished cannot be redelivered
    let pending: Uuid = sqlx::query_scalar("SELECT id FROM executions WHERE source = 'redelivery' AND redelivery_of = $1").bind(e).fetch_one(&pool).await.unwrap();
    let refused = w.submit(&format!("/app/executions/{e}"), &format!("/app/executions/{pending}/redeliver"), &[]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.contains("only finished executions can be redelivered"), "{}", refused.html);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn history_filters_pages_and_refreshes(pool: PgPool) {
    let (mut w, org) = owner(&pool, "ada@example.com", "Acme").await;
    let job = create_job(&mut w, &[("name", "Report"), ("url", "https://example.com/r"), ("kind", "daily"), ("time", "03:00")]).await;
    let good = finished(&pool, org, Some(job), "success", Some(200), None, Duration::minutes(30)).await;
    let bad = finished(&pool, org, Some(job), "failed", Some(500), Some("HTTP 500"), Duration::minutes(20)).await;
    let queued = finished(&pool, org, None, "timeout", None, Some("timed out"), Duration::minutes(10)).await;
    let all = w.get("/app/executions").await;
    ok(&all);
    for id in [good, bad, queued] {
        assert!(all.contains(&format!("/app/executions/{id}")), "{id} missing");
    }
    assert!(all.contains("queue call") && all.contains(">Report<"), "rows name their job");
    let failures = w.get("/app/executions?status=failed,timeout").await;
    assert!(failures.contains(&format!("/app/executions/{bad}")) && failures.contains(&format!("/app/executions/{queued}")) && !failures.contains(&format!("/app/executions/{good}")));
    let by_job = w.get(&format!("/app/executions?job_id={job}&status=success")).await;
    assert!(by_job.contains(&format!("/app/executions/{good}")) && !by_job.contains(&format!("/app/executions/{bad}")));
    let from = (Utc::now() - Duration::minutes(25)).format("%Y-%m-%dT%H:%M").to_string();
    let recent = w.get(&format!("/app/executions?from={from}")).await;
    assert!(!recent.contains(&format!("/app/executions/{good}")) && recent.contains(&format!("/app/executions/{bad}")), "from is a UTC time");
    let rows = w.get("/app/executions/rows?status=success").await;
    assert!(rows.contains(&format!("/app/executions/{good}")) && !rows.contains("<html"), "the live fragment keeps the filters");
    assert_eq!(w.get("/app/executions?status=broken").await.status, StatusCode::BAD_REQUEST);
    assert!(all.contains(r#"data-refresh="/app/executions/rows""#));
    for i in 0..55 {
        finished(&pool, org, None, "success", Some(200), None, Duration::hours(2) + Duration::seconds(i)).await;
    }
    let first = w.get("/app/executions").await;
    let at = first.html.find("/app/executions?cursor=").expect("a link to older runs");
    let link: String = first.html[at..].chars().take_while(|c| *c != '"').collect();
    let older = w.get(&link.replace("&amp;", "&")).await;
    ok(&older);
    assert_eq!(older.html.matches("<tr>").count() - 1, 58 - 50, "the rest on the second page");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn monitors_show_state_and_ping_url(pool: PgPool) {
    let (mut w, org) = owner(&pool, "ada@example.com", "Acme").await;
    let empty = w.get("/app/monitors").await;
    assert!(empty.contains("No monitors yet") && empty.contains("POST /api/v1/monitors") && empty.contains("/app/monitors/new"), "{}", empty.html);
    let refused = w.submit("/app/monitors/new", "/app/monitors/new", &[("name", ""), ("kind", "cron"), ("cron", "61 * * * *"), ("timezone", "UTC"), ("grace_minutes", "5")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("name:") && refused.contains("schedule.expr:"), "the API's words for each field: {}", refused.html);
    let made = w.submit("/app/monitors/new", "/app/monitors/new", &[("name", "hourly import"), ("kind", "interval"), ("every_minutes", "60"), ("grace_minutes", "10"), ("max_runtime_minutes", "")]).await;
    assert_eq!(made.location(), Some("/app/monitors"), "{}", made.html);
    let (secs, grace, status, alert_in): (Option<i32>, i32, String, f64) =
        sqlx::query_as("SELECT interval_secs, grace_secs, status, extract(epoch FROM alert_at - now())::float8 FROM monitors WHERE name = 'hourly import'").fetch_one(&pool).await.unwrap();
    assert_eq!((secs, grace, status.as_str()), (Some(3600), 600, "new"));
    assert!((4100.0..=4200.0).contains(&alert_in), "down if no ping in an hour and ten minutes: {alert_in}");
    sqlx::query("INSERT INTO monitors (org_id, name, token, schedule_kind, interval_secs, grace_secs, status, last_ping_at) VALUES ($1, 'nightly backup', 'tok0123456789abcdef', 'interval', 86400, 600, 'down', now() - interval '2 days')")
        .bind(org)
        .execute(&pool)
        .await
        .unwrap();
    let page = w.get("/app/monitors").await;
    ok(&page);
    assert!(page.contains("nightly backup") && page.contains(r#"<span class="badge bad">down</span>"#), "{}", page.html);
    assert!(page.contains("curl -fsS -m 10 --retry 3 https://prikke.test/ping/tok0123456789abcdef"), "a copyable curl line");
    assert!(page.contains("hourly import") && page.contains("every 3600 s, grace 600 s") && page.contains(r#"data-refresh="/app/monitors?part=1""#), "{}", page.html);
    let live = w.get("/app/monitors?part=1").await;
    assert!(live.contains("nightly backup") && !live.contains("<html"), "the live fragment");
    // a real ping through the public endpoint shows in the monitor's latest pings
    let monitor: Uuid = sqlx::query_scalar("SELECT id FROM monitors WHERE name = 'hourly import'").fetch_one(&pool).await.unwrap();
    let token: String = sqlx::query_scalar("SELECT token FROM monitors WHERE id = $1").bind(monitor).fetch_one(&pool).await.unwrap();
    let pinged = w.post_raw(&format!("/ping/{token}"), &[("done", "42 rows")]).await;
    assert!(pinged.status.is_success(), "{} {}", pinged.status, pinged.html);
    let one = w.get(&format!("/app/monitors/{monitor}")).await;
    ok(&one);
    assert!(one.contains("hourly import") && one.contains("Latest pings") && one.contains("success (POST)") && one.contains("done=42+rows"), "{}", one.html);
    assert!(one.contains(r#"<span class="badge ok">up</span>"#), "up after its ping: {}", one.html);
    let (mut bob, _) = owner(&pool, "bob@example.com", "Bobs").await;
    assert_eq!(bob.get(&format!("/app/monitors/{monitor}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(bob.get(&format!("/app/monitors/{monitor}/edit")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(bob.submit("/app/monitors", &format!("/app/monitors/{monitor}/edit"), &[("name", "taken"), ("kind", "interval"), ("every_minutes", "5")]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(bob.submit("/app/monitors", &format!("/app/monitors/{monitor}/delete"), &[]).await.status, StatusCode::NOT_FOUND);
    assert!(!bob.get("/app/monitors").await.contains("hourly import"));

    // edit: the form comes filled in; a new rhythm and a pause are saved through the API's rules
    let form = w.get(&format!("/app/monitors/{monitor}/edit")).await;
    assert!(form.contains(r#"value="hourly import""#) && form.contains(r#"name="every_minutes" min="1" value="60""#) && form.contains(r#"name="grace_minutes" min="0" value="10""#), "{}", form.html);
    let bad = w.submit(&format!("/app/monitors/{monitor}/edit"), &format!("/app/monitors/{monitor}/edit"), &[("name", "hourly import"), ("kind", "cron"), ("cron", "not cron")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let saved = w.submit(&format!("/app/monitors/{monitor}/edit"), &format!("/app/monitors/{monitor}/edit"), &[("name", "half-hourly import"), ("kind", "interval"), ("every_minutes", "30"), ("grace_minutes", "5"), ("paused", "true")]).await;
    assert_eq!(saved.location(), Some(format!("/app/monitors/{monitor}").as_str()), "{}", saved.html);
    let (name, secs, grace, status): (String, Option<i32>, i32, String) = sqlx::query_as("SELECT name, interval_secs, grace_secs, status FROM monitors WHERE id = $1").bind(monitor).fetch_one(&pool).await.unwrap();
    assert_eq!((name.as_str(), secs, grace, status.as_str()), ("half-hourly import", Some(1800), 300, "paused"));
    let gone = w.submit(&format!("/app/monitors/{monitor}"), &format!("/app/monitors/{monitor}/delete"), &[]).await;
    assert_eq!(gone.location(), Some("/app/monitors"));
    assert_eq!(w.get(&format!("/app/monitors/{monitor}")).await.status, StatusCode::NOT_FOUND);
    let home = w.get("/app").await;
    assert!(home.contains(r#"data-testid="monitors-down">1<"#), "{}", home.html);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn another_organizations_ids_are_404_on_every_route(pool: PgPool) {
    let (mut ada, ada_org) = owner(&pool, "ada@example.com", "Acme").await;
    let job = create_job(&mut ada, &[("name", "Ada's job"), ("url", "https://example.com/r"), ("kind", "daily"), ("time", "03:00")]).await;
    let e = finished(&pool, ada_org, Some(job), "failed", Some(500), Some("HTTP 500"), Duration::minutes(3)).await;
    let (mut bob, _) = owner(&pool, "bob@example.com", "Bobs").await;
    for path in [format!("/app/jobs/{job}"), format!("/app/jobs/{job}/edit"), format!("/app/jobs/{job}/history"), format!("/app/jobs/{job}/delete"), format!("/app/jobs/new?from={job}"), format!("/app/executions/{e}"), format!("/app/executions/{e}?part=1")] {
        assert_eq!(bob.get(&path).await.status, StatusCode::NOT_FOUND, "GET {path}");
    }
    for action in ["trigger", "pause", "resume", "delete", "edit", "redeliver-failed"] {
        let r = bob.submit("/app/jobs", &format!("/app/jobs/{job}/{action}"), &[("from", "2026-01-01T00:00")]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "POST {action}");
    }
    assert_eq!(bob.submit("/app/jobs", &format!("/app/executions/{e}/redeliver"), &[]).await.status, StatusCode::NOT_FOUND);
    let dup = bob.submit("/app/jobs/new", "/app/jobs/new", &[("intent", "create"), ("from", &job.to_string()), ("name", "x"), ("url", "https://example.com"), ("kind", "daily")]).await;
    assert_eq!(dup.status, StatusCode::NOT_FOUND, "duplicating another organization's job");
    let lists = [bob.get("/app").await, bob.get("/app/jobs").await, bob.get("/app/executions").await, bob.get(&format!("/app/executions?job_id={job}")).await];
    for p in &lists {
        ok(p);
        assert!(!p.contains("Ada&#39;s job") && !p.contains("Ada's job") && !p.contains(&e.to_string()), "{}", p.html);
    }
    // nothing changed for Ada, and forms without their token do nothing
    let (enabled, runs): (bool, i64) = sqlx::query_as("SELECT enabled, (SELECT count(*) FROM executions) FROM jobs WHERE id = $1").bind(job).fetch_one(&pool).await.unwrap();
    assert_eq!((enabled, runs), (true, 1));
    assert_eq!(ada.post_raw(&format!("/app/jobs/{job}/trigger"), &[]).await.status, StatusCode::BAD_REQUEST, "no token: the form is not even read");
    assert_eq!(ada.post_raw(&format!("/app/jobs/{job}/trigger"), &[("csrf", "forged")]).await.status, StatusCode::FORBIDDEN);
    // signed out: every page sends to sign-in
    let mut guest = Web::new(router(AppState::new(pool.clone(), support::config(&[]))));
    for path in ["/app/jobs", "/app/executions", "/app/monitors", "/app/jobs/new"] {
        assert_eq!(guest.get(path).await.location().map(|l| l.starts_with("/app/login?next=")), Some(true), "{path}");
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn admins_add_test_and_delete_alert_channels_and_a_job_is_muted(pool: PgPool) {
    let (mut ada, ada_org) = owner(&pool, "ada@example.com", "Acme").await;
    let page = ada.get("/app/channels").await;
    ok(&page);
    assert!(page.contains("No channels yet") && page.contains("event:job.failed"), "{}", page.html);
    let bad = ada.submit("/app/channels", "/app/channels", &[("kind", "email"), ("target", "not an address"), ("event:job.failed", "on")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("Not added. target:"), "the API's words: {}", bad.html);
    let none = ada.submit("/app/channels", "/app/channels", &[("kind", "email"), ("target", "ops@example.com")]).await;
    assert!(none.contains("events:"), "no event ticked: {}", none.html);
    let added = ada.submit("/app/channels", "/app/channels", &[("kind", "webhook"), ("target", "https://hooks.slack.com/services/T0/B0/secretXYZW"), ("name", "On-call"), ("event:job.failed", "on"), ("event:monitor.down", "on")]).await;
    ok(&added);
    assert!(added.contains("Added https://hooks.slack.com/…XYZW") && !added.contains("secretXYZW"), "the URL is masked as in the API: {}", added.html);
    let (id, events): (Uuid, Vec<String>) = sqlx::query_as("SELECT id, events FROM notification_channels").fetch_one(&pool).await.unwrap();
    assert_eq!(events, vec!["job_failed".to_owned(), "monitor_down".to_owned()], "stored by their stored names");
    // no dispatcher runs here: the test is queued in the real outbox and the page says so at once
    let tested = ada.submit("/app/channels", &format!("/app/channels/{id}/test"), &[]).await;
    assert!(tested.contains("The test message is queued"), "{}", tested.html);
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM notification_deliveries WHERE channel_id = $1 AND is_test AND status = 'pending'").bind(id).fetch_one(&pool).await.unwrap();
    assert_eq!(queued, 1, "a test send is in the outbox");

    // another organization's admin: 404 for this channel; a member who is not an admin: 403
    let (mut bob, _) = owner(&pool, "bob@example.com", "Bobs").await;
    assert_eq!(bob.submit("/app/channels", &format!("/app/channels/{id}/test"), &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(bob.submit("/app/channels", &format!("/app/channels/{id}/delete"), &[]).await.status, StatusCode::NOT_FOUND);
    assert!(!bob.get("/app/channels").await.contains("hooks.slack.com"));
    let bob_id: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'bob@example.com'").fetch_one(&pool).await.unwrap();
    store::users::upsert_membership(&pool, ada_org, bob_id, store::users::Role::Member).await.unwrap();
    let switched = bob.submit("/app", &format!("/app/orgs/{ada_org}/switch"), &[]).await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    assert_eq!(bob.get("/app/channels").await.status, StatusCode::FORBIDDEN, "members read jobs, admins manage alert channels");
    assert!(!bob.get("/app").await.contains(r#"href="/app/channels""#), "the nav does not offer it");
    assert_eq!(bob.submit("/app", &format!("/app/channels/{id}/delete"), &[]).await.status, StatusCode::FORBIDDEN);

    // per-job mute, from the job's page (any member)
    let job = create_job(&mut ada, &[("name", "Report"), ("url", "https://example.com/r"), ("kind", "daily"), ("time", "03:00")]).await;
    let muted = bob.submit(&format!("/app/jobs/{job}"), &format!("/app/jobs/{job}/mute"), &[("mute", "true")]).await;
    let shown = bob.follow(&muted).await;
    assert!(shown.contains("Muted: this job") && shown.contains(">Unmute<"), "{}", shown.html);
    let is_muted: bool = sqlx::query_scalar("SELECT alerts_muted FROM jobs WHERE id = $1").bind(job).fetch_one(&pool).await.unwrap();
    assert!(is_muted);
    ada.submit(&format!("/app/jobs/{job}"), &format!("/app/jobs/{job}/mute"), &[("mute", "false")]).await;
    let is_muted: bool = sqlx::query_scalar("SELECT alerts_muted FROM jobs WHERE id = $1").bind(job).fetch_one(&pool).await.unwrap();
    assert!(!is_muted);

    let gone = ada.submit("/app/channels", &format!("/app/channels/{id}/delete"), &[]).await;
    assert_eq!(gone.location(), Some("/app/channels"));
    assert!(ada.follow(&gone).await.contains("No channels yet"));
}
