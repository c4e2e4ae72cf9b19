//! The other commands against the real api-fn: login and the credentials file, exit codes for
//! authentication and network failures, jobs, executions, monitors, preview, --json, completions.

mod support;

use chrono::{DateTime, Timelike, Utc};
use domain::tier::Tier;
use serde_json::Value;
use sqlx::PgPool;
use support::{finish, start};

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn login_stores_the_key_privately_and_later_commands_use_it(pool: PgPool) {
    let s = start(pool, Tier::Free).await;
    let creds = s.home.path().join("config/prikke/credentials.toml");

    // a wrong key is refused and nothing is stored
    let r = s.run_with(&["login", "--api-url", &s.base], &[], Some("pk_live_nope.sk_live_nope\n")).await;
    assert_eq!(r.code, 3, "{r:#?}");
    assert!(r.stderr.contains("Unauthorized (HTTP 401)"), "{r:#?}");
    assert!(!creds.exists());

    let r = s.run_with(&["login", "--api-url", &s.base], &[], Some(&format!("{}\n", s.org.api_key))).await;
    assert!(r.ok().contains(&format!("Logged in to {}", s.base)), "{r:#?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(creds.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    }
    let stored: toml::Table = toml::from_str(&std::fs::read_to_string(&creds).unwrap()).unwrap();
    assert_eq!((stored["api_key"].as_str(), stored["api_url"].as_str()), (Some(s.org.api_key.as_str()), Some(s.base.as_str())));

    // no key or URL in the environment: the stored ones are used
    let r = s.run_with(&["jobs", "list"], &[], None).await;
    assert_eq!(r.ok().trim(), "No jobs.");
    // PRIKKE_API_KEY overrides the stored key
    let r = s.run_with(&["jobs", "list"], &[("PRIKKE_API_KEY", "pk_live_nope.sk_live_nope")], None).await;
    assert_eq!(r.code, 3, "{r:#?}");

    let r = s.run_with(&["logout"], &[], None).await;
    r.ok();
    assert!(!creds.exists());
    let r = s.run_with(&["jobs", "list", "--api-url", &s.base], &[], None).await;
    assert_eq!(r.code, 3, "{r:#?}");
    assert!(r.stderr.contains("no API key"), "{r:#?}");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_wrong_key_is_exit_3_and_an_unreachable_api_exit_4(pool: PgPool) {
    let s = start(pool, Tier::Free).await;
    let r = s.run_with(&["jobs", "list"], &[("PRIKKE_API_URL", &s.base), ("PRIKKE_API_KEY", "pk_live_abc.sk_live_def")], None).await;
    assert_eq!(r.code, 3, "{r:#?}");
    assert!(r.stderr.contains("Unauthorized (HTTP 401): unknown or revoked API key") || r.stderr.contains("malformed API key"), "{}", r.stderr);
    assert!(r.stderr.contains("prikke login"), "says what to do: {}", r.stderr);

    // a port nothing listens on any more
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let r = s.run_with(&["jobs", "list"], &[("PRIKKE_API_URL", &format!("http://{closed}")), ("PRIKKE_API_KEY", &s.org.api_key)], None).await;
    assert_eq!(r.code, 4, "{r:#?}");
    assert!(r.stderr.contains(&format!("the API at http://{closed} could not be reached")), "{}", r.stderr);

    // usage errors are clap's exit 2
    let r = s.run(&["jobs", "create", "--name", "x"]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    let r = s.run(&["jobs", "create", "--name", "x", "--url", "https://e.com", "--schedule", "@daily", "-H", "no colon"]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("Name: value"), "{}", r.stderr);

    // the API's database goes away: it answers 5xx, which is exit 4 too
    s.pool.close().await;
    let r = s.run(&["jobs", "list"]).await;
    assert_eq!(r.code, 4, "{r:#?}");
    assert!(r.stderr.contains("(HTTP 50"), "{}", r.stderr);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn jobs_and_executions_round_trip(pool: PgPool) {
    let s = start(pool, Tier::Free).await;
    let r = s
        .run(&["jobs", "create", "--json", "--name", "Nightly", "--url", "https://example.com/hook", "--schedule", "0 3 * * *", "--tz", "Europe/Oslo",
            "-X", "put", "-H", "X-Env: prod", "-H", "Authorization: Bearer s3cr3t-token", "--body", "{}", "--timeout", "10", "--max-attempts", "3"])
        .await;
    let job = r.json();
    let id = job["id"].as_str().unwrap().to_owned();
    let stored = s.api(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!((stored["method"].as_str(), stored["timeout_secs"].as_u64(), stored["retry"]["max_attempts"].as_u64()), (Some("PUT"), Some(10), Some(3)));
    assert_eq!(stored["schedule"], serde_json::json!({"kind": "cron", "expr": "0 3 * * *", "timezone": "Europe/Oslo"}));
    assert_eq!(stored["headers"][0], serde_json::json!({"name": "X-Env", "value": "prod"}));

    let r = s.run(&["jobs", "get", &id]).await;
    let out = r.ok();
    assert!(out.contains("Nightly") && out.contains("PUT https://example.com/hook") && out.contains("Europe/Oslo"), "{out}");
    assert!(!out.contains("s3cr3t-token"), "credential headers come back masked: {out}");
    let r = s.run(&["jobs", "list"]).await;
    let out = r.ok();
    assert!(out.starts_with("ID") && out.contains(&id) && out.contains("active"), "{out}");

    // a job from a file
    let file = s.home.file("job.toml", "name = \"From file\"\nurl = \"https://example.com/f\"\nschedule = { kind = \"cron\", expr = \"@hourly\" }\n");
    let r = s.run(&["jobs", "create", "--file", file.to_str().unwrap()]).await;
    assert!(r.ok().starts_with("Created job "), "{r:#?}");
    let file = s.home.file("bad.json", "{\"name\": \"x\", \"url\": \"https://e.com\", \"schedul\": {}}");
    let r = s.run(&["jobs", "create", "--file", file.to_str().unwrap()]).await;
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("schedul"), "{}", r.stderr);
    assert_eq!(s.jobs().await.len(), 2);

    // trigger, then the execution in the history
    let r = s.run(&["jobs", "trigger", &id, "--json"]).await;
    let first = r.json()["id"].as_str().unwrap().to_owned();
    let r = s.run(&["jobs", "trigger", &id]).await;
    assert!(r.ok().starts_with("Triggered: execution "), "{r:#?}");
    let r = s.run(&["executions", "list", "--job", &id, "--json"]).await;
    let list = r.json();
    assert_eq!(list["data"].as_array().unwrap().len(), 2, "{list}");
    let r = s.run(&["executions", "get", &first, "--json"]).await;
    assert_eq!((r.json()["job_id"].as_str(), r.json()["source"].as_str()), (Some(id.as_str()), Some("manual")));

    // paging: one at a time, or all
    let r = s.run(&["executions", "list", "--limit", "1"]).await;
    assert_eq!(r.ok().lines().count(), 2, "a header and one row: {r:#?}");
    assert!(r.stderr.contains("--cursor "), "{r:#?}");
    let r = s.run(&["executions", "list", "--limit", "1", "--all", "--json"]).await;
    let all = r.json();
    assert_eq!((all["data"].as_array().unwrap().len(), all["next_cursor"].is_null()), (2, true), "{all}");

    // redeliver a failed one; the status filter finds it
    finish(&s.pool, &first, "failed").await;
    let r = s.run(&["executions", "list", "--status", "failed", "--json"]).await;
    let failed: Vec<Value> = r.json()["data"].as_array().unwrap().clone();
    assert_eq!(failed.iter().map(|e| e["id"].as_str().unwrap()).collect::<Vec<_>>(), [first.as_str()]);
    let r = s.run(&["executions", "get", &first]).await;
    assert!(r.ok().contains("failed") && r.stdout.contains("boom"), "{r:#?}");
    let r = s.run(&["executions", "redeliver", &first, "--json"]).await;
    let copy = r.json();
    assert_eq!(copy["redelivery_of"].as_str(), Some(first.as_str()));
    let r = s.run(&["executions", "list", "--status", "bogus"]).await;
    assert_eq!(r.code, 1, "{r:#?}");
    assert!(r.stderr.contains("status: "), "the field is named: {}", r.stderr);

    // pause, resume, delete
    let r = s.run(&["jobs", "pause", &id]).await;
    assert!(r.ok().contains("is paused"), "{r:#?}");
    assert_eq!(s.api(&format!("/api/v1/jobs/{id}")).await["enabled"], false);
    let r = s.run(&["jobs", "resume", &id, "--json"]).await;
    assert_eq!(r.json()["enabled"], true);
    assert_eq!(s.api(&format!("/api/v1/jobs/{id}")).await["enabled"], true);
    let r = s.run(&["jobs", "delete", &id]).await;
    assert_eq!(r.ok().trim(), format!("Deleted job {id}."));
    let r = s.run(&["jobs", "get", &id]).await;
    assert_eq!(r.code, 1, "{r:#?}");
    assert!(r.stderr.contains("Not found (HTTP 404): job not found"), "{}", r.stderr);
    assert_eq!(s.jobs().await.len(), 1);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn monitors_round_trip(pool: PgPool) {
    let s = start(pool, Tier::Free).await;
    let r = s.run(&["monitors", "create", "--name", "Backup", "--schedule", "0 2 * * *", "--tz", "Europe/Oslo", "--grace", "600", "--json"]).await;
    let m = r.json();
    let id = m["id"].as_str().unwrap().to_owned();
    assert_eq!(m["grace_secs"], 600);
    let r = s.run(&["monitors", "create", "--name", "Heartbeat", "--every", "300"]).await;
    assert!(r.ok().contains("/ping/"), "the ping URL is shown: {r:#?}");
    let r = s.run(&["monitors", "list"]).await;
    let out = r.ok();
    assert!(out.contains("Backup") && out.contains("every 300 s"), "{out}");
    let r = s.run(&["monitors", "get", &id]).await;
    assert!(r.ok().contains("cron \"0 2 * * *\" (Europe/Oslo)"), "{r:#?}");
    let r = s.run(&["monitors", "create", "--name", "Bad", "--every", "5"]).await;
    assert_eq!(r.code, 1, "{r:#?}");
    assert!(r.stderr.contains("schedule.interval_secs: "), "{}", r.stderr);
    s.run(&["monitors", "delete", &id]).await.ok();
    let r = s.run(&["monitors", "list", "--json"]).await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 1);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn preview_prints_the_next_runs(pool: PgPool) {
    let s = start(pool, Tier::Free).await;
    let r = s.run(&["preview", "0 3 * * *", "--tz", "Europe/Oslo", "-n", "3"]).await;
    let out = r.ok();
    assert!(out.contains("Europe/Oslo"), "{out}");
    let runs: Vec<DateTime<Utc>> = out.lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert_eq!(runs.len(), 3, "{out}");
    for run in &runs {
        let oslo = run.with_timezone(&chrono_tz::Europe::Oslo);
        assert_eq!((oslo.hour(), oslo.minute()), (3, 0), "{run} is 03:00 in Oslo");
        assert!(*run > Utc::now() - chrono::TimeDelta::minutes(1));
    }
    assert!(runs.windows(2).all(|w| w[0] < w[1]));

    let r = s.run(&["preview", "*/5 * * * *", "--json"]).await;
    let p = r.json();
    assert_eq!((p["runs"].as_array().unwrap().len(), p["allowed_on_plan"].as_bool()), (5, Some(false)));
    let r = s.run(&["preview", "not cron"]).await;
    assert_eq!(r.code, 1, "{r:#?}");
    assert!(r.stderr.contains("schedule.expr: "), "{}", r.stderr);
}

/// Needs no API: the binary alone.
#[test]
fn help_documents_exit_codes_and_completions_are_printed() {
    let home = support::TempDir::new();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_prikke")).args(args).env("HOME", home.path()).env("XDG_CONFIG_HOME", home.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let out = run(&["--help"]);
    assert!(out.contains("Exit codes:") && out.contains("3  authentication") && out.contains("PRIKKE_API_KEY"), "{out}");
    let out = run(&["sync", "--help"]);
    assert!(out.contains("--dry-run") && out.contains("Exit codes: 0"), "{out}");
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell]);
        assert!(out.contains("prikke") && out.contains("sync") && out.contains("executions"), "{shell}: {out}");
    }
}
