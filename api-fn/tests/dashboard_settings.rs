//! The dashboard's job settings through the real router: the job form's completion window and
//! catch-up cap (kept on edit, refused with the rule's words).

mod support;
#[path = "support/web.rs"]
mod web;

use api_fn::{AppState, router};
use axum::http::StatusCode;
use sqlx::PgPool;
use uuid::Uuid;
use web::{Page, Web, link_in_mail};

const PASSWORD: &str = "correct horse battery";

/// A browser signed in as `email`, owner of a new organization `org`; returns its id too.
async fn owner(pool: &PgPool, email: &str, org: &str) -> (Web, Uuid) {
    let mut w = Web::new(router(AppState::new(pool.clone(), support::config(&[]))));
    let done = w.submit("/app/signup", "/app/signup", &[("email", email), ("password", PASSWORD)]).await;
    assert!(done.contains("Check your e-mail"), "{}", done.html);
    let link = link_in_mail(pool, email, "/app/confirm/").await;
    assert_eq!(w.submit(&link, &link, &[]).await.status, StatusCode::SEE_OTHER);
    let made = w.submit("/app/welcome", "/app/orgs", &[("name", org)]).await;
    assert_eq!(made.location(), Some("/app"));
    let id = sqlx::query_scalar("SELECT id FROM organizations WHERE name = $1").bind(org).fetch_one(pool).await.unwrap();
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
