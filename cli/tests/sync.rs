//! `prikke sync` against the real api-fn: applies a file (create, update, delete), reports
//! unchanged, dry runs change nothing, bad files and invalid jobs change nothing and say where.

mod support;

use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use support::{Server, start};

fn job(key: &str, expr: &str) -> String {
    format!("[[jobs]]\nkey = \"{key}\"\nname = \"{key}\"\nurl = \"https://example.com/{key}\"\nschedule = {{ kind = \"cron\", expr = \"{expr}\", timezone = \"Europe/Oslo\" }}\n\n")
}

/// (key, expr) of the keyed jobs, by key.
async fn state(s: &Server) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = s
        .jobs()
        .await
        .iter()
        .filter(|j| j["key"].is_string())
        .map(|j| (j["key"].as_str().unwrap().to_owned(), j["schedule"]["expr"].as_str().unwrap_or("").to_owned()))
        .collect();
    v.sort();
    v
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn sync_creates_updates_and_deletes_to_match_the_file_then_reports_unchanged(pool: PgPool) {
    let s = start(pool, Tier::Free).await;
    let (status, _) = s.api_post("/api/v1/jobs", &json!({"name": "by hand", "url": "https://example.com/h", "schedule": {"kind": "cron", "expr": "0 * * * *"}})).await;
    assert_eq!(status, 201);

    let file = s.home.file("jobs.toml", &(job("a", "0 3 * * *") + &job("b", "0 4 * * *")));
    let path = file.to_str().unwrap();
    let r = s.run(&["sync", path, "--yes"]).await;
    let out = r.ok();
    assert!(out.contains("+ create     a") && out.contains("+ create     b"), "{out}");
    assert!(out.contains("Applied: 2 created, 0 updated, 0 deleted, 0 unchanged."), "{out}");
    assert_eq!(state(&s).await, vec![("a".into(), "0 3 * * *".into()), ("b".into(), "0 4 * * *".into())]);

    // a changes its schedule, b goes, c comes
    std::fs::write(&file, job("a", "30 3 * * *") + &job("c", "@daily")).unwrap();
    let r = s.run(&["sync", path, "--yes"]).await;
    let out = r.ok();
    assert!(out.contains("~ update     a"), "{out}");
    assert!(out.contains("schedule: every day at 03:00 (Europe/Oslo) → every day at 03:30 (Europe/Oslo)"), "the changed field is shown: {out}");
    assert!(!out.contains("name: "), "unchanged fields are not listed: {out}");
    assert!(out.contains("- delete     b") && out.contains("+ create     c"), "{out}");
    assert!(out.contains("Applied: 1 created, 1 updated, 1 deleted, 0 unchanged."), "{out}");
    assert_eq!(state(&s).await, vec![("a".into(), "30 3 * * *".into()), ("c".into(), "0 0 * * *".into())]);
    assert!(s.jobs().await.iter().any(|j| j["name"] == "by hand"), "a job without a key is never touched");

    // the same file again: nothing to do
    let r = s.run(&["sync", path]).await;
    let out = r.ok();
    assert!(out.contains("= unchanged  a, c") && out.contains("Nothing to change."), "{out}");
    let r = s.run(&["sync", path, "--json", "--yes"]).await;
    let report = r.json();
    assert_eq!(report["unchanged"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(report["created"], json!([]));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_dry_run_shows_the_diff_and_changes_nothing(pool: PgPool) {
    let s = start(pool, Tier::Free).await;
    let file = s.home.file("jobs.toml", &(job("a", "0 3 * * *") + &job("b", "0 4 * * *")));
    s.run(&["sync", file.to_str().unwrap(), "--yes"]).await.ok();
    let before = s.jobs().await;

    let a = job("a", "0 5 * * *").replace("name = \"a\"", "name = \"A renamed\"\nheaders = { \"X-Env\" = \"prod\", \"X-Api-Key\" = \"abcdefghijklmnop\" }");
    let file = s.home.file("next.toml", &(a + &job("d", "@weekly")));
    let r = s.run(&["sync", file.to_str().unwrap(), "--dry-run"]).await;
    let out = r.ok();
    assert!(out.contains("~ update     a\n"), "{out}");
    for change in ["name: \"a\" → \"A renamed\"", "headers.X-Env: added", "headers.X-Api-Key: added", "schedule: every day at 03:00 (Europe/Oslo) → every day at 05:00 (Europe/Oslo)"] {
        assert!(out.contains(&format!("      {change}\n")), "{change}: {out}");
    }
    assert!(!out.contains("abcdefghijklmnop") && !out.contains("url: ") && !out.contains("timeout_secs: "), "no secret values, no unchanged fields: {out}");
    assert!(out.contains("+ create     d") && out.contains("- delete     b"), "{out}");
    assert!(out.contains("1 to create, 1 to update, 1 to delete, 0 unchanged.") && out.contains("Dry run: nothing was changed."), "{out}");
    assert_eq!(s.jobs().await, before, "a dry run changes nothing");

    let r = s.run(&["sync", file.to_str().unwrap(), "--dry-run", "--json"]).await;
    let plan = r.json();
    assert_eq!((plan["dry_run"].as_bool(), plan["created"][0]["key"].as_str(), plan["created"][0]["id"].is_null()), (Some(true), Some("d"), true));
    assert_eq!(s.jobs().await, before);

    // without --yes and without a terminal to ask on: refused, nothing changed
    let r = s.run(&["sync", file.to_str().unwrap()]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("--yes"), "{r:#?}");
    assert_eq!(s.jobs().await, before);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_example_file_syncs(pool: PgPool) {
    let s = start(pool, Tier::Free).await;
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/jobs.toml");
    let r = s.run(&["sync", example, "--yes"]).await;
    assert!(r.ok().contains("Applied: 4 created"), "{r:#?}");
    assert_eq!(s.keys().await, ["cache-warmup", "launch-announcement", "nightly-report", "weekly-cleanup"]);
    let nightly = s.jobs().await.into_iter().find(|j| j["key"] == "nightly-report").unwrap();
    assert_eq!(nightly["headers"], json!([{"name": "X-Env", "value": "prod"}]));
    assert_eq!((nightly["retry"]["max_attempts"].as_u64(), nightly["schedule"]["timezone"].as_str()), (Some(3), Some("Europe/Oslo")));
    let launch = s.jobs().await.into_iter().find(|j| j["key"] == "launch-announcement").unwrap();
    assert_eq!(launch["schedule"], json!({"kind": "once", "at": "2099-01-15T09:00:00Z"}));
    // everything the file says is what is stored: a second sync finds no difference
    let r = s.run(&["sync", example, "--dry-run"]).await;
    assert!(r.ok().contains("0 to create, 0 to update, 0 to delete, 4 unchanged."), "{r:#?}");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_bad_file_names_line_and_field_exits_2_and_changes_nothing(pool: PgPool) {
    let s = start(pool, Tier::Free).await;
    let good = job("a", "0 3 * * *");
    s.run(&["sync", s.home.file("jobs.toml", &good).to_str().unwrap(), "--yes"]).await.ok();
    let before = s.jobs().await;

    // an unknown field (a typo), on line 11
    let typo = good.clone() + "[[jobs]]\nkey = \"b\"\nname = \"b\"\nurl = \"https://example.com/b\"\ntimeuot_secs = 10\nschedule = { kind = \"cron\", expr = \"@daily\" }\n";
    assert_eq!(typo.lines().nth(10), Some("timeuot_secs = 10"));
    let r = s.run(&["sync", s.home.file("typo.toml", &typo).to_str().unwrap(), "--yes"]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("line 11") && r.stderr.contains("unknown field `timeuot_secs`"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "nothing was planned: {r:#?}");

    // a wrong type, on line 5
    let wrong = good.replace("url = \"https://example.com/a\"\n", "url = \"https://example.com/a\"\ntimeout_secs = \"long\"\n");
    let r = s.run(&["sync", s.home.file("type.toml", &wrong).to_str().unwrap(), "--yes"]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("line 5") && r.stderr.contains("jobs[0].timeout_secs") && r.stderr.contains("invalid type"), "{}", r.stderr);

    // not TOML at all, and a file that is not there
    let r = s.run(&["sync", s.home.file("broken.toml", "[[jobs]\nkey = ").to_str().unwrap(), "--yes"]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("line 1"), "{}", r.stderr);
    let r = s.run(&["sync", "/nonexistent/jobs.toml", "--yes"]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("cannot read /nonexistent/jobs.toml"), "{}", r.stderr);

    assert_eq!(s.jobs().await, before, "nothing changed");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn jobs_the_api_refuses_are_listed_per_field_exit_1_and_change_nothing(pool: PgPool) {
    let s = start(pool, Tier::Free).await;
    let good = job("a", "0 3 * * *");
    s.run(&["sync", s.home.file("jobs.toml", &good).to_str().unwrap(), "--yes"]).await.ok();
    let before = s.jobs().await;

    // b's cron expression is wrong (its table starts on line 7), c's URL is not a URL
    let bad = good.clone() + &job("b", "61 * * * *") + &job("c", "@daily").replace("https://example.com/c", "not a url");
    let r = s.run(&["sync", s.home.file("bad.toml", &bad).to_str().unwrap(), "--yes"]).await;
    assert_eq!(r.code, 1, "{r:#?}");
    assert!(r.stderr.contains("error: Invalid request (HTTP 422)\n"), "{}", r.stderr);
    assert!(r.stderr.contains("job \"b\" (") && r.stderr.contains("bad.toml line 7): schedule.expr: "), "{}", r.stderr);
    assert!(r.stderr.contains("job \"c\" (") && r.stderr.contains("line 13): url: "), "{}", r.stderr);
    assert!(r.stderr.contains("Nothing was changed."), "{}", r.stderr);
    assert_eq!(s.jobs().await, before, "nothing changed");
}
