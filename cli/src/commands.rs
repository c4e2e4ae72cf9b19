//! The commands other than `sync`: each calls the API and prints a table or, with `--json`,
//! the API's JSON.

use std::io::{IsTerminal, Read};

use serde_json::{Value, json};

use crate::client::{Client, Failure};
use crate::table::{at, cell, fields, render};
use crate::{Cli, CreateJob, CreateMonitor, ExecutionsCommand, JobsCommand, ListExecutions, LoginArgs, MonitorsCommand, Paging, PreviewArgs, credentials, files};

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()));
}

/// A list as one JSON document: every item fetched, and where to go on.
fn print_list_json(items: Vec<Value>, next: Option<String>) {
    print_json(&json!({"data": items, "next_cursor": next}));
}

fn more_hint(next: &Option<String>, what: &str) {
    if let Some(c) = next {
        eprintln!("(more {what}: --cursor {c}, or --all)");
    }
}

/// Path segments are ids: refuse anything that would change the path.
fn id(s: &str) -> Result<&str, Failure> {
    let s = s.trim();
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Failure::Usage(format!("{s:?} is not an id")));
    }
    Ok(s)
}

pub async fn login(cli: &Cli, args: &LoginArgs) -> Result<(), Failure> {
    let key = match &args.key {
        Some(k) => k.trim().to_owned(),
        None => read_key()?,
    };
    if key.is_empty() {
        return Err(Failure::Usage("no API key given: pass --key, or the key on standard input".into()));
    }
    let stored_url = credentials::load().ok().flatten().and_then(|c| c.api_url);
    let url = cli.api_url.clone().or(stored_url).unwrap_or_else(|| crate::DEFAULT_API_URL.to_owned());
    let client = Client::new(&url, Some(key.clone()))?;
    let usage = client.get("/api/v1/usage", &[]).await?;
    let api_url = (client.base() != crate::DEFAULT_API_URL).then(|| client.base().to_owned());
    let path = credentials::store(&credentials::Credentials { api_key: key, api_url })?;
    if cli.json {
        print_json(&json!({"api_url": client.base(), "credentials": path, "usage": usage}));
    } else {
        println!(
            "Logged in to {} (plan {}, {} jobs). The key is stored in {}.",
            client.base(),
            at(&usage, &["plan"]),
            at(&usage, &["jobs", "count"]),
            path.display()
        );
    }
    Ok(())
}

fn read_key() -> Result<String, Failure> {
    let stdin = std::io::stdin();
    let mut key = String::new();
    if stdin.is_terminal() {
        eprint!("API key (pk_live_….sk_live_…): ");
        stdin.read_line(&mut key).map_err(|e| Failure::Local(format!("cannot read the key: {e}")))?;
    } else {
        stdin.lock().read_to_string(&mut key).map_err(|e| Failure::Local(format!("cannot read the key: {e}")))?;
    }
    Ok(key.trim().to_owned())
}

pub fn logout() -> Result<(), Failure> {
    let path = credentials::path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => println!("Removed {}.", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => println!("Not logged in ({} does not exist).", path.display()),
        Err(e) => return Err(Failure::Local(format!("cannot remove {}: {e}", path.display()))),
    }
    Ok(())
}

// ---- jobs ----

fn job_state(j: &Value) -> String {
    match (j["enabled"].as_bool(), j["paused_reason"].as_str()) {
        (_, Some(reason)) => format!("paused ({reason})"),
        (Some(true), _) => "active".into(),
        (Some(false), _) => "paused".into(),
        _ => "-".into(),
    }
}

fn job_rows(items: &[Value]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|j| vec![at(j, &["id"]), at(j, &["key"]), at(j, &["name"]), job_state(j), at(j, &["schedule_description"]), at(j, &["next_run_at"])])
        .collect();
    render(&["ID", "KEY", "NAME", "STATE", "SCHEDULE", "NEXT RUN"], &rows)
}

fn schedule_text(s: &Value) -> String {
    match s["kind"].as_str() {
        Some("cron") => format!("cron \"{}\" ({})", cell(&s["expr"]), cell(&s["timezone"])),
        Some("once") => format!("once at {}", cell(&s["at"])),
        _ => cell(s),
    }
}

fn headers_text(h: &Value) -> String {
    let list: Vec<String> = h.as_array().map(|a| a.iter().map(|h| format!("{}: {}", cell(&h["name"]), cell(&h["value"]))).collect()).unwrap_or_default();
    if list.is_empty() { "-".into() } else { list.join(", ") }
}

fn job_detail(j: &Value) -> String {
    fields(&[
        ("id", at(j, &["id"])),
        ("key", at(j, &["key"])),
        ("name", at(j, &["name"])),
        ("state", job_state(j)),
        ("request", format!("{} {}", at(j, &["method"]), at(j, &["url"]))),
        ("headers", headers_text(&j["headers"])),
        ("body", at(j, &["body"])),
        ("schedule", format!("{}: {}", schedule_text(&j["schedule"]), at(j, &["schedule_description"]))),
        ("next run", at(j, &["next_run_at"])),
        ("timeout", format!("{} s", at(j, &["timeout_secs"]))),
        ("attempts", at(j, &["retry", "max_attempts"])),
        ("missed runs", at(j, &["catch_up", "mode"])),
        ("overlap", at(j, &["overlap"])),
        ("created", at(j, &["created_at"])),
        ("updated", at(j, &["updated_at"])),
    ])
}

pub async fn jobs(client: &Client, json: bool, cmd: &JobsCommand) -> Result<(), Failure> {
    match cmd {
        JobsCommand::List(Paging { limit, all, cursor }) => {
            let (items, next) = client.list("/api/v1/jobs", vec![], *limit, cursor.clone(), *all).await?;
            if json {
                print_list_json(items, next);
            } else if items.is_empty() {
                println!("No jobs.");
            } else {
                println!("{}", job_rows(&items));
                more_hint(&next, "jobs");
            }
        }
        JobsCommand::Get { id: job } => {
            let j = client.get(&format!("/api/v1/jobs/{}", id(job)?), &[]).await?;
            if json { print_json(&j) } else { println!("{}", job_detail(&j)) }
        }
        JobsCommand::Create(args) => {
            let body = job_body(args)?;
            let j = client.post("/api/v1/jobs", Some(&body)).await?;
            if json {
                print_json(&j);
            } else {
                println!("Created job {} ({}): {}; next run {}.", at(&j, &["id"]), at(&j, &["name"]), at(&j, &["schedule_description"]), at(&j, &["next_run_at"]));
            }
        }
        JobsCommand::Trigger { id: job } => {
            let e = client.post(&format!("/api/v1/jobs/{}/trigger", id(job)?), None).await?;
            if json { print_json(&e) } else { println!("Triggered: execution {} ({}).", at(&e, &["id"]), at(&e, &["status"])) }
        }
        JobsCommand::Pause { id: job } | JobsCommand::Resume { id: job } => {
            let action = if matches!(cmd, JobsCommand::Pause { .. }) { "disable" } else { "enable" };
            let j = client.post(&format!("/api/v1/jobs/{}/{action}", id(job)?), None).await?;
            if json {
                print_json(&j);
            } else {
                println!("Job {} ({}) is {}; next run {}.", at(&j, &["id"]), at(&j, &["name"]), job_state(&j), at(&j, &["next_run_at"]));
            }
        }
        JobsCommand::Delete { id: job } => {
            let job = id(job)?;
            client.delete(&format!("/api/v1/jobs/{job}")).await?;
            if json { print_json(&json!({"id": job, "deleted": true})) } else { println!("Deleted job {job}.") }
        }
    }
    Ok(())
}

/// The API body of `jobs create`: the file's job, or the flags'.
fn job_body(args: &CreateJob) -> Result<Value, Failure> {
    if let Some(path) = &args.file {
        let job = files::read_job_file(path)?;
        return serde_json::to_value(job).map_err(|e| Failure::Local(e.to_string()));
    }
    let schedule = match (&args.schedule, &args.at) {
        (Some(expr), _) => files::Schedule::Cron { expr: expr.clone(), timezone: args.tz.clone() },
        (None, Some(instant)) => files::Schedule::Once { at: files::Instant(instant.clone()) },
        (None, None) => return Err(Failure::Usage("give --schedule or --at".into())),
    };
    let job = files::Job {
        name: args.name.clone().unwrap_or_default(),
        key: args.key.clone(),
        url: args.url.clone().unwrap_or_default(),
        method: args.method.clone(),
        headers: (!args.headers.is_empty())
            .then(|| files::Headers::List(args.headers.iter().map(|(n, v)| files::Header { name: n.clone(), value: v.clone() }).collect())),
        body: args.body.clone(),
        timeout_secs: args.timeout,
        enabled: args.disabled.then_some(false),
        retry: args.max_attempts.map(|n| files::Retry { max_attempts: n, base_delay_secs: None, max_delay_secs: None }),
        catch_up: None,
        overlap: None,
        completion_window_secs: None,
        notifications: None,
        schedule,
    };
    serde_json::to_value(job).map_err(|e| Failure::Local(e.to_string()))
}

// ---- executions ----

fn execution_rows(items: &[Value]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|e| {
            vec![
                at(e, &["id"]),
                at(e, &["status"]),
                at(e, &["source"]),
                at(e, &["job_id"]),
                at(e, &["scheduled_for"]),
                format!("{}/{}", at(e, &["attempt"]), at(e, &["max_attempts"])),
                at(e, &["response", "status"]),
                e["duration_ms"].as_i64().map_or("-".into(), |d| format!("{d} ms")),
            ]
        })
        .collect();
    render(&["ID", "STATUS", "SOURCE", "JOB", "SCHEDULED FOR", "ATTEMPT", "HTTP", "DURATION"], &rows)
}

fn execution_detail(e: &Value) -> String {
    let mut out = fields(&[
        ("id", at(e, &["id"])),
        ("job", at(e, &["job_id"])),
        ("status", at(e, &["status"])),
        ("reason", at(e, &["status_reason"])),
        ("source", at(e, &["source"])),
        ("scheduled for", at(e, &["scheduled_for"])),
        ("attempt", format!("{} of {}", at(e, &["attempt"]), at(e, &["max_attempts"]))),
        ("message id", at(e, &["message_id"])),
        ("request", format!("{} {}", at(e, &["request", "method"]), at(e, &["request", "url"]))),
        ("request headers", headers_text(&e["request"]["headers"])),
        ("response", at(e, &["response", "status"])),
        ("response body", at(e, &["response", "body"])),
        ("started", at(e, &["started_at"])),
        ("finished", at(e, &["finished_at"])),
        ("duration", e["duration_ms"].as_i64().map_or("-".into(), |d| format!("{d} ms"))),
        ("error", at(e, &["error"])),
        ("redelivery of", at(e, &["redelivery_of"])),
    ]);
    if let Some(attempts) = e["attempts"].as_array().filter(|a| !a.is_empty()) {
        let rows: Vec<Vec<String>> = attempts
            .iter()
            .map(|a| vec![at(a, &["attempt"]), at(a, &["status"]), at(a, &["started_at"]), at(a, &["response_status"]), at(a, &["error"])])
            .collect();
        out.push_str("\n\nEarlier attempts:\n");
        out.push_str(&render(&["ATTEMPT", "STATUS", "STARTED", "HTTP", "ERROR"], &rows));
    }
    out
}

pub async fn executions(client: &Client, json: bool, cmd: &ExecutionsCommand) -> Result<(), Failure> {
    match cmd {
        ExecutionsCommand::List(ListExecutions { job, status, source, from, to, paging }) => {
            let mut query = Vec::new();
            for (name, value) in [("job_id", job), ("status", status), ("source", source), ("from", from), ("to", to)] {
                if let Some(v) = value {
                    query.push((name, v.clone()));
                }
            }
            let (items, next) = client.list("/api/v1/executions", query, paging.limit, paging.cursor.clone(), paging.all).await?;
            if json {
                print_list_json(items, next);
            } else if items.is_empty() {
                println!("No executions.");
            } else {
                println!("{}", execution_rows(&items));
                more_hint(&next, "executions");
            }
        }
        ExecutionsCommand::Get { id: e } => {
            let e = client.get(&format!("/api/v1/executions/{}", id(e)?), &[]).await?;
            if json { print_json(&e) } else { println!("{}", execution_detail(&e)) }
        }
        ExecutionsCommand::Redeliver { id: e } => {
            let copy = client.post(&format!("/api/v1/executions/{}/redeliver", id(e)?), None).await?;
            if json { print_json(&copy) } else { println!("Redelivering as execution {} ({}).", at(&copy, &["id"]), at(&copy, &["status"])) }
        }
    }
    Ok(())
}

// ---- monitors ----

fn monitor_schedule(m: &Value) -> String {
    let s = &m["schedule"];
    match s["kind"].as_str() {
        Some("interval") => format!("every {} s", cell(&s["interval_secs"])),
        _ => schedule_text(s),
    }
}

pub async fn monitors(client: &Client, json: bool, cmd: &MonitorsCommand) -> Result<(), Failure> {
    match cmd {
        MonitorsCommand::List(Paging { limit, all, cursor }) => {
            let (items, next) = client.list("/api/v1/monitors", vec![], *limit, cursor.clone(), *all).await?;
            if json {
                print_list_json(items, next);
            } else if items.is_empty() {
                println!("No monitors.");
            } else {
                let rows: Vec<Vec<String>> = items
                    .iter()
                    .map(|m| vec![at(m, &["id"]), at(m, &["name"]), at(m, &["status"]), monitor_schedule(m), at(m, &["last_ping_at"])])
                    .collect();
                println!("{}", render(&["ID", "NAME", "STATUS", "EXPECTS", "LAST PING"], &rows));
                more_hint(&next, "monitors");
            }
        }
        MonitorsCommand::Get { id: m } => {
            let m = client.get(&format!("/api/v1/monitors/{}", id(m)?), &[]).await?;
            if json {
                print_json(&m);
            } else {
                let mut out = fields(&[
                    ("id", at(&m, &["id"])),
                    ("name", at(&m, &["name"])),
                    ("status", at(&m, &["status"])),
                    ("expects", monitor_schedule(&m)),
                    ("grace", format!("{} s", at(&m, &["grace_secs"]))),
                    ("max runtime", at(&m, &["max_runtime_secs"])),
                    ("ping URL", at(&m, &["ping_url"])),
                    ("last ping", at(&m, &["last_ping_at"])),
                    ("alert at", at(&m, &["alert_at"])),
                ]);
                if let Some(pings) = m["recent_pings"].as_array().filter(|p| !p.is_empty()) {
                    let rows: Vec<Vec<String>> = pings.iter().map(|p| vec![at(p, &["received_at"]), at(p, &["kind"]), at(p, &["method"]), at(p, &["source_ip"])]).collect();
                    out.push_str("\n\nLatest pings:\n");
                    out.push_str(&render(&["RECEIVED", "KIND", "METHOD", "FROM"], &rows));
                }
                println!("{out}");
            }
        }
        MonitorsCommand::Create(CreateMonitor { name, schedule, tz, every, grace, max_runtime, paused }) => {
            let schedule = match (schedule, every) {
                (Some(expr), _) => json!({"kind": "cron", "expr": expr, "timezone": tz}),
                (None, Some(secs)) => json!({"kind": "interval", "interval_secs": secs}),
                (None, None) => return Err(Failure::Usage("give --schedule or --every".into())),
            };
            let mut body = json!({"name": name, "schedule": schedule});
            for (field, value) in [("grace_secs", grace), ("max_runtime_secs", max_runtime)] {
                if let Some(v) = value {
                    body[field] = json!(v);
                }
            }
            if *paused {
                body["paused"] = json!(true);
            }
            let m = client.post("/api/v1/monitors", Some(&body)).await?;
            if json {
                print_json(&m);
            } else {
                println!("Created monitor {} ({}). Ping {} (append /start or /fail for those signals).", at(&m, &["id"]), at(&m, &["name"]), at(&m, &["ping_url"]));
            }
        }
        MonitorsCommand::Delete { id: m } => {
            let m = id(m)?;
            client.delete(&format!("/api/v1/monitors/{m}")).await?;
            if json { print_json(&json!({"id": m, "deleted": true})) } else { println!("Deleted monitor {m}.") }
        }
    }
    Ok(())
}

// ---- preview ----

pub async fn preview(client: &Client, json: bool, args: &PreviewArgs) -> Result<(), Failure> {
    let body = json!({"schedule": {"kind": "cron", "expr": args.expr, "timezone": args.tz}, "count": args.count});
    let p = client.post("/api/v1/schedule/preview", Some(&body)).await?;
    if json {
        print_json(&p);
        return Ok(());
    }
    println!("{}", at(&p, &["description"]));
    println!("cron \"{}\" in {}", at(&p, &["expr"]), at(&p, &["timezone"]));
    if p["allowed_on_plan"].as_bool() == Some(false) {
        println!("note: your plan does not allow a job this frequent (every {} min)", at(&p, &["interval_minutes"]));
    }
    println!("Next runs (UTC):");
    for run in p["runs"].as_array().into_iter().flatten() {
        println!("  {}", cell(run));
    }
    Ok(())
}
