//! The dashboard's job settings and alert settings through the real router: the job form's
//! completion window and catch-up cap (kept on edit, refused with the rule's words), editing an
//! alert channel, choosing a job's own channels or muting it, the copy buttons' markup, wide
//! tables wrapped for phones; each new route checks the role and answers 404 for another
//! organization's ids.

mod support;
#[path = "support/web.rs"]
mod web;

use api_fn::{AppState, router};
use axum::http::StatusCode;
use sqlx::PgPool;
use uuid::Uuid;
use web::{Page, Web};

/// A browser signed in as `email`, owner of a new organization `org`; returns its id too.
async fn owner(pool: &PgPool, email: &str, org: &str) -> (Web, Uuid) {
    let mut w = Web::new(router(AppState::new(pool.clone(), support::config(&[]))));
    let id = web::sign_up(pool, &mut w, email, Some(org)).await.expect("an organization");
    (w, id)
}

fn ok(p: &Page) {
    assert_eq!(p.status, StatusCode::OK, "{}", p.html);
}

/// Posts the job form to `action` (`/app/jobs/new` or a job's edit), `fields` over a daily job's; returns the answer.
async fn post_job(w: &mut Web, action: &str, fields: &[(&str, &str)]) -> Page {
    let defaults = [("intent", "create"), ("name", "Report"), ("url", "https://example.com/r"), ("kind", "daily"), ("time", "03:00")];
    let mut all: Vec<(&str, &str)> = defaults.into_iter().filter(|(k, _)| !fields.iter().any(|(f, _)| f == k)).collect();
    all.extend_from_slice(fields);
    w.submit(action, action, &all).await
}

fn created(p: &Page) -> Uuid {
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.html);
    p.location().unwrap().trim_start_matches("/app/jobs/").trim_end_matches("?done=created").parse().unwrap()
}

async fn stored(pool: &PgPool, job: Uuid) -> (Option<i32>, String, i32) {
    sqlx::query_as("SELECT completion_window_secs, catch_up, catch_up_cap::int FROM jobs WHERE id = $1").bind(job).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_job_form_sets_the_completion_window_and_the_catch_up_cap(pool: PgPool) {
    let (mut w, _) = owner(&pool, "ada@example.com", "Acme").await;
    // no organization or member has a time zone: the start page's "today" says it is UTC's
    assert!(w.get("/app").await.contains("Runs today (UTC)"));
    let form = w.get("/app/jobs/new").await;
    ok(&form);
    assert!(form.contains(r#"name="completion_window_secs""#) && form.contains(r#"name="catch_up_cap""#), "{}", form.html);
    assert!(form.contains("Prikke-Completion-Url") && form.contains("10 to 86400"), "the rule is explained where it is set: {}", form.html);

    // refused with the rule's words, in the form, nothing saved
    let short = post_job(&mut w, "/app/jobs/new", &[("completion_window_secs", "5")]).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", short.html);
    assert!(short.contains("The job was not saved") && short.contains("must be between 10 seconds and 86400 seconds"), "{}", short.html);
    assert!(short.contains(r#"name="completion_window_secs" value="5""#), "the form keeps what was typed: {}", short.html);
    let many = post_job(&mut w, "/app/jobs/new", &[("catch_up", "run_all"), ("catch_up_cap", "500")]).await;
    assert_eq!(many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(many.contains("catch_up.cap") && many.contains("between 1 and 100 missed runs"), "{}", many.html);
    let words = post_job(&mut w, "/app/jobs/new", &[("completion_window_secs", "soon")]).await;
    assert!(words.contains("Completion window: a whole number"), "{}", words.html);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 0);

    // saved, shown again on edit, kept when the edit leaves them, cleared when emptied
    let job = created(&post_job(&mut w, "/app/jobs/new", &[("completion_window_secs", "900"), ("catch_up", "run_all"), ("catch_up_cap", "25")]).await);
    assert_eq!(stored(&pool, job).await, (Some(900), "run_all".to_owned(), 25));
    let page = w.get(&format!("/app/jobs/{job}")).await;
    assert!(page.contains("expected within 900 s") && page.contains("every missed run, at most 25"), "the job's page says so: {}", page.html);
    let edit = w.get(&format!("/app/jobs/{job}/edit")).await;
    assert!(edit.contains(r#"name="completion_window_secs" value="900""#) && edit.contains(r#"name="catch_up_cap" value="25""#), "{}", edit.html);
    let action = format!("/app/jobs/{job}/edit");
    let saved = post_job(&mut w, &action, &[("completion_window_secs", "900"), ("catch_up", "run_all"), ("catch_up_cap", "25"), ("name", "Renamed")]).await;
    assert_eq!(saved.location(), Some(format!("/app/jobs/{job}?done=saved").as_str()), "{}", saved.html);
    assert_eq!(stored(&pool, job).await, (Some(900), "run_all".to_owned(), 25));
    // another mode ignores a cap left in its field; an empty window means no ping is expected
    post_job(&mut w, &action, &[("catch_up", "skip"), ("catch_up_cap", "25")]).await;
    let (window, mode, _) = stored(&pool, job).await;
    assert_eq!((window, mode.as_str()), (None, "skip"));
    let shown = w.get(&format!("/app/jobs/{job}")).await;
    ok(&shown);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_alert_channel_is_edited_and_a_job_chooses_its_channels(pool: PgPool) {
    let (mut ada, ada_org) = owner(&pool, "ada@example.com", "Acme").await;
    ada.submit("/app/channels", "/app/channels", &[("kind", "email"), ("target", "ops@example.com"), ("name", "Ops"), ("event:job.failed", "on")]).await;
    ada.submit("/app/channels", "/app/channels", &[("kind", "webhook"), ("target", "https://hooks.slack.com/services/T0/B0/secretXYZW"), ("name", "Slack"), ("event:job.failed", "on")]).await;
    let ids: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, name FROM notification_channels ORDER BY name").fetch_all(&pool).await.unwrap();
    let (ops, slack) = (ids[0].0, ids[1].0);
    let list = ada.get("/app/channels").await;
    assert!(list.contains(&format!("/app/channels/{ops}/edit")), "each channel has an edit link: {}", list.html);

    // edit: the webhook URL is not shown again, a blank field keeps it
    let form = ada.get(&format!("/app/channels/{slack}/edit")).await;
    ok(&form);
    assert!(!form.contains("secretXYZW") && form.contains("Blank keeps https://hooks.slack.com/…XYZW"), "{}", form.html);
    let edit = format!("/app/channels/{slack}/edit");
    let saved = ada.submit(&edit, &edit, &[("target", ""), ("name", "Slack on-call"), ("event:job.failed", "on"), ("event:monitor.down", "on")]).await;
    ok(&saved);
    assert!(saved.contains("Saved https://hooks.slack.com/…XYZW") && saved.contains("Slack on-call"), "{}", saved.html);
    let (name, target, events, enabled): (String, String, Vec<String>, bool) = sqlx::query_as("SELECT name, target, events, enabled FROM notification_channels WHERE id = $1").bind(slack).fetch_one(&pool).await.unwrap();
    assert_eq!((name.as_str(), target.as_str(), events, enabled), ("Slack on-call", "https://hooks.slack.com/services/T0/B0/secretXYZW", vec!["job_failed".to_owned(), "monitor_down".to_owned()], false), "unticked: disabled");
    let bad = ada.submit(&format!("/app/channels/{ops}/edit"), &format!("/app/channels/{ops}/edit"), &[("target", "not an address"), ("enabled", "on"), ("event:job.failed", "on")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("Not saved. target:"), "the API's words: {}", bad.html);

    // a job sends its alerts to the channels it ticks, or nowhere, or back to all of them
    let job = created(&post_job(&mut ada, "/app/jobs/new", &[]).await);
    let page = ada.get(&format!("/app/jobs/{job}")).await;
    assert!(page.contains("Choose where this job") && page.contains(&format!(r#"name="channel:{ops}""#)), "{}", page.html);
    let alerts = format!("/app/jobs/{job}/alerts");
    let chosen = ada.submit(&format!("/app/jobs/{job}"), &alerts, &[("alerts", "own"), (&format!("channel:{ops}"), "on")]).await;
    assert_eq!(chosen.location(), Some(format!("/app/jobs/{job}?done=alerts#alerts").as_str()), "{}", chosen.html);
    let shown = ada.follow(&chosen).await;
    assert!(shown.contains("1 channel(s) of its own: Ops"), "{}", shown.html);
    let (muted, own): (bool, Option<serde_json::Value>) = sqlx::query_as("SELECT alerts_muted, alert_channel_ids FROM jobs WHERE id = $1").bind(job).fetch_one(&pool).await.unwrap();
    assert_eq!((muted, own), (false, Some(serde_json::json!([ops.to_string()]))));
    let none = ada.submit(&format!("/app/jobs/{job}"), &alerts, &[("alerts", "own")]).await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST, "own channels, none ticked");
    ada.submit(&format!("/app/jobs/{job}"), &alerts, &[("alerts", "mute"), (&format!("channel:{ops}"), "on")]).await;
    let (muted, own): (bool, Option<serde_json::Value>) = sqlx::query_as("SELECT alerts_muted, alert_channel_ids FROM jobs WHERE id = $1").bind(job).fetch_one(&pool).await.unwrap();
    assert_eq!((muted, own), (true, None));
    ada.submit(&format!("/app/jobs/{job}"), &alerts, &[("alerts", "org")]).await;
    let (muted, own): (bool, Option<serde_json::Value>) = sqlx::query_as("SELECT alerts_muted, alert_channel_ids FROM jobs WHERE id = $1").bind(job).fetch_one(&pool).await.unwrap();
    assert_eq!((muted, own), (false, None));

    // another organization: 404 for the channel, the job, and another organization's channel id
    let (mut bob, _) = owner(&pool, "bob@example.com", "Bobs").await;
    assert_eq!(bob.get(&format!("/app/channels/{ops}/edit")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(bob.submit("/app/channels", &format!("/app/channels/{ops}/edit"), &[("target", "x@example.com"), ("event:job.failed", "on")]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(bob.submit("/app/jobs", &alerts, &[("alerts", "mute")]).await.status, StatusCode::NOT_FOUND);
    bob.submit("/app/channels", "/app/channels", &[("kind", "email"), ("target", "bob@example.com"), ("event:job.failed", "on")]).await;
    let bobs_channel: Uuid = sqlx::query_scalar("SELECT id FROM notification_channels WHERE target = 'bob@example.com'").fetch_one(&pool).await.unwrap();
    let foreign = ada.submit(&format!("/app/jobs/{job}"), &alerts, &[("alerts", "own"), (&format!("channel:{bobs_channel}"), "on")]).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "another organization's channel id");
    let (muted, own): (bool, Option<serde_json::Value>) = sqlx::query_as("SELECT alerts_muted, alert_channel_ids FROM jobs WHERE id = $1").bind(job).fetch_one(&pool).await.unwrap();
    assert_eq!((muted, own), (false, None), "unchanged");
    let ops_name: String = sqlx::query_scalar("SELECT target FROM notification_channels WHERE id = $1").bind(ops).fetch_one(&pool).await.unwrap();
    assert_eq!(ops_name, "ops@example.com", "unchanged");

    // a member who is not an admin: 403 on both, and the job page offers only the mute
    let bob_id: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'bob@example.com'").fetch_one(&pool).await.unwrap();
    store::users::upsert_membership(&pool, ada_org, bob_id, store::users::Role::Member).await.unwrap();
    bob.submit("/app", &format!("/app/orgs/{ada_org}/switch"), &[]).await;
    assert_eq!(bob.get(&format!("/app/channels/{ops}/edit")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(bob.submit("/app", &format!("/app/channels/{ops}/edit"), &[("target", "x@example.com")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(bob.submit("/app", &alerts, &[("alerts", "mute")]).await.status, StatusCode::FORBIDDEN);
    let member_view = bob.get(&format!("/app/jobs/{job}")).await;
    ok(&member_view);
    assert!(!member_view.contains("Choose where this job") && !member_view.contains("ops@example.com") && member_view.contains(">Mute<"), "{}", member_view.html);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn examples_have_copy_buttons_and_wide_tables_scroll_inside_a_wrapper(pool: PgPool) {
    let (mut w, org) = owner(&pool, "ada@example.com", "Acme").await;
    let job = created(&post_job(&mut w, "/app/jobs/new", &[]).await);
    let page = w.get(&format!("/app/jobs/{job}")).await;
    assert!(page.contains(r#"<button class="copy button small secondary" type="button" aria-live="polite">Copy<span class="visually-hidden"> the API examples</span></button>"#), "{}", page.html);
    let empty = w.get("/app/monitors").await;
    assert!(empty.contains("the curl example</span>"), "{}", empty.html);
    let monitor = w.submit("/app/monitors/new", "/app/monitors/new", &[("name", "backup"), ("kind", "interval"), ("every_minutes", "60"), ("grace_minutes", "5")]).await;
    assert_eq!(monitor.status, StatusCode::SEE_OTHER, "{}", monitor.html);
    let monitors = w.get("/app/monitors").await;
    assert!(monitors.contains("the ping URL</span>") && monitors.contains("the curl and crontab examples</span>"), "{}", monitors.html);
    let script = w.get("/app/static/app.js").await;
    assert!(script.contains("button.copy") && script.contains("clipboard"), "the script copies");
    // every table of these pages sits in its scrolling wrapper
    let _ = org;
    for path in ["/app/members", "/app/keys", "/app/audit", "/app/jobs", "/app/channels"] {
        let p = w.get(path).await;
        ok(&p);
        assert_eq!(p.html.matches("<table").count(), p.html.matches(r#"<div class="scroll""#).count(), "{path}: {}", p.html);
    }
}
