//! `prikke sync FILE`: jobs as code. The file is parsed here (shape only; a bad file is exit 2
//! and sends nothing), the API is asked what would change (`PUT /api/v1/sync?dry_run=true`),
//! that is shown, and after a confirmation (or `--yes`) the same body is sent for real; the API
//! applies it in one transaction. The API's report lists keys; the per-field changes of updated
//! jobs are worked out here by comparing the file with the stored jobs.

use std::io::IsTerminal;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::SyncArgs;
use crate::client::{Client, Failure, exit};
use crate::files::{self, Desired, Headers, Preset, Schedule};
use crate::table::cell;

/// The API's sync report.
#[derive(Debug, Deserialize)]
struct Report {
    #[serde(default)]
    created: Vec<Item>,
    #[serde(default)]
    updated: Vec<Item>,
    #[serde(default)]
    deleted: Vec<Item>,
    #[serde(default)]
    unchanged: Vec<Item>,
}

#[derive(Debug, Deserialize)]
struct Item {
    key: String,
    id: Option<String>,
}

impl Report {
    fn changes(&self) -> usize {
        self.created.len() + self.updated.len() + self.deleted.len()
    }

    fn summary(&self, done: bool) -> String {
        let (c, u, d) = if done { ("created", "updated", "deleted") } else { ("to create", "to update", "to delete") };
        format!("{} {c}, {} {u}, {} {d}, {} unchanged", self.created.len(), self.updated.len(), self.deleted.len(), self.unchanged.len())
    }
}

pub async fn run(client: &Client, json_out: bool, args: &SyncArgs) -> Result<(), Failure> {
    let desired = files::read_sync_file(&args.file)?;
    let body = json!({"jobs": serde_json::to_value(&desired.jobs).map_err(|e| Failure::Local(e.to_string()))?});
    let label = |field: &str| field_label(&desired, &args.file.display().to_string(), field);

    let plan = put(client, &body, true, &label).await?;
    let report: Report = serde_json::from_value(plan.clone()).map_err(|e| Failure::Network(format!("the API's sync report could not be read: {e}")))?;
    if !json_out || args.dry_run {
        if json_out {
            println!("{}", serde_json::to_string_pretty(&plan).unwrap_or_default());
        } else {
            print_plan(client, &desired, &report).await?;
        }
    }
    if args.dry_run {
        if !json_out {
            println!("Dry run: nothing was changed.");
        }
        return Ok(());
    }
    if report.changes() == 0 {
        if json_out {
            println!("{}", serde_json::to_string_pretty(&plan).unwrap_or_default());
        } else {
            println!("Nothing to change.");
        }
        return Ok(());
    }
    if !args.yes && !confirm()? {
        return Err(Failure::Local("nothing was changed".into()));
    }
    let applied = put(client, &body, false, &label).await?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&applied).unwrap_or_default());
    } else {
        let report: Report = serde_json::from_value(applied).map_err(|e| Failure::Network(format!("the API's sync report could not be read: {e}")))?;
        println!("Applied: {}.", report.summary(true));
    }
    Ok(())
}

/// Sends the sync; a refusal is explained with the file's job keys and lines.
async fn put(client: &Client, body: &Value, dry_run: bool, label: &dyn Fn(&str) -> String) -> Result<Value, Failure> {
    let query = [("dry_run", dry_run.to_string())];
    match client.send(reqwest::Method::PUT, "/api/v1/sync", &query, Some(body)).await {
        Ok(v) => Ok(v),
        Err(e) => {
            eprintln!("{}", e.render(label));
            if matches!(e, Failure::Api { .. }) {
                eprintln!("Nothing was changed.");
            }
            Err(Failure::Reported(e.exit_code()))
        }
    }
}

/// Asks on the terminal; without one, `--yes` is required.
fn confirm() -> Result<bool, Failure> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        eprintln!("error: standard input is not a terminal, so nothing can be confirmed: pass --yes to apply (or --dry-run to only look)");
        return Err(Failure::Reported(exit::USAGE));
    }
    eprint!("Apply these changes? [y/N] ");
    let mut answer = String::new();
    stdin.read_line(&mut answer).map_err(|e| Failure::Local(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// `jobs[2].schedule.expr` → `job "nightly" (jobs.toml line 14): schedule.expr`.
fn field_label(desired: &Desired, file: &str, field: &str) -> String {
    let Some(rest) = field.strip_prefix("jobs[") else { return field.to_owned() };
    let Some((index, tail)) = rest.split_once(']') else { return field.to_owned() };
    let Ok(i) = index.parse::<usize>() else { return field.to_owned() };
    let Some(job) = desired.jobs.get(i) else { return field.to_owned() };
    let tail = tail.strip_prefix('.').unwrap_or(tail);
    let name = match &job.key {
        Some(k) => format!("job {k:?}"),
        None => format!("job {i} ({:?})", job.name),
    };
    let place = match desired.lines.get(i).copied().flatten() {
        Some(line) => format!("{file} line {line}"),
        None => format!("{file}, jobs[{i}]"),
    };
    if tail.is_empty() { format!("{name} ({place})") } else { format!("{name} ({place}): {tail}") }
}

/// Most schedule previews one plan asks for (to compare an updated job's schedule in its
/// canonical form); the API counts every request against the key's rate limit.
const MAX_PREVIEWS: usize = 50;

async fn print_plan(client: &Client, desired: &Desired, report: &Report) -> Result<(), Failure> {
    let job_of = |key: &str| desired.jobs.iter().find(|j| j.key.as_deref() == Some(key));
    let all = report.created.iter().chain(&report.updated).chain(&report.deleted);
    let width = all.map(|i| i.key.chars().count()).max().unwrap_or(0);
    println!("Plan for {} job(s) against {}:", desired.jobs.len(), client.base());
    for item in &report.created {
        let what = job_of(&item.key).map(|j| format!("  {:?}, {}", j.name, schedule_summary(&j.schedule))).unwrap_or_default();
        println!("  + create     {:<width$}{what}", item.key);
    }
    // the stored jobs, one list call (100 a page) rather than one call per job
    let stored: Vec<Value> = if report.updated.is_empty() { Vec::new() } else { client.list("/api/v1/jobs", vec![], Some(100), None, true).await?.0 };
    let mut previews = 0;
    for item in &report.updated {
        println!("  ~ update     {}", item.key);
        let current = stored.iter().find(|j| j["id"].as_str().is_some_and(|id| Some(id) == item.id.as_deref()));
        let (Some(job), Some(current)) = (job_of(&item.key), current) else { continue };
        let changes = changes(client, job, current, &mut previews).await?;
        if changes.is_empty() {
            println!("      (a setting this command cannot compare, e.g. a credential header's value)");
        }
        for c in changes {
            println!("      {c}");
        }
    }
    for item in &report.deleted {
        println!("  - delete     {:<width$}  (id {})", item.key, item.id.as_deref().unwrap_or("-"));
    }
    if !report.unchanged.is_empty() {
        let keys: Vec<&str> = report.unchanged.iter().map(|i| i.key.as_str()).collect();
        println!("  = unchanged  {}", keys.join(", "));
    }
    println!("{}.", report.summary(false));
    Ok(())
}

fn schedule_summary(s: &Schedule) -> String {
    let zone = |tz: &Option<String>| tz.clone().unwrap_or_else(|| "UTC".to_owned());
    match s {
        Schedule::Cron { expr, timezone } => format!("cron \"{expr}\" ({})", zone(timezone)),
        Schedule::Once { at } => format!("once at {}", at.0),
        Schedule::Preset { preset, timezone } => {
            let minute = |m: &Option<u8>| m.unwrap_or(0);
            let what = match preset {
                Preset::Hourly { minute: m } => format!("hourly at minute {}", minute(m)),
                Preset::Daily { hour, minute: m } => format!("daily at {hour:02}:{:02}", minute(m)),
                Preset::Weekly { weekday, hour, minute: m } => format!("weekly on {weekday} at {hour:02}:{:02}", minute(m)),
            };
            format!("{what} ({})", zone(timezone))
        }
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "none".into(),
        other => other.to_string(),
    }
}

/// The header names whose values the API masks (the same rule as the API's).
fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(name.as_str(), "authorization" | "proxy-authorization" | "cookie" | "set-cookie")
        || ["token", "secret", "password", "passwd", "key", "signature", "auth", "session", "credential"].iter().any(|w| name.contains(w))
}

/// What the API shows for a secret value: stars, and the last four characters of a long value.
fn masked(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let tail: String = if chars.len() >= 16 { chars[chars.len() - 4..].iter().collect() } else { String::new() };
    format!("********{tail}")
}

/// The header changes, one line each; secret values are never shown.
fn header_changes(wanted: &[(String, String)], stored: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    let find = |list: &[(String, String)], name: &str| list.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    for (name, value) in wanted {
        match find(stored, name) {
            None => out.push(format!("headers.{name}: added")),
            Some(old) if is_secret_header(name) => {
                if old != masked(value) {
                    out.push(format!("headers.{name}: changed (value hidden)"));
                }
            }
            Some(old) if old != *value => out.push(format!("headers.{name}: {old:?} → {value:?}")),
            Some(_) => {}
        }
    }
    for (name, _) in stored {
        if find(wanted, name).is_none() {
            out.push(format!("headers.{name}: removed"));
        }
    }
    out
}

/// The fields whose stored value differs from the file's, as `field: old → new`. Fields the
/// file leaves out are compared with the API's defaults where those are fixed.
async fn changes(client: &Client, job: &files::Job, current: &Value, previews: &mut usize) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    let mut diff = |field: &str, old: Value, new: Value| {
        if old != new {
            out.push(format!("{field}: {} → {}", show(&old), show(&new)));
        }
    };
    diff("name", current["name"].clone(), json!(job.name.trim()));
    if current["url"].as_str().map(|u| u.trim_end_matches('/')) != Some(job.url.trim().trim_end_matches('/')) {
        diff("url", current["url"].clone(), json!(job.url));
    }
    diff("method", current["method"].clone(), json!(job.method.as_deref().unwrap_or("POST").to_ascii_uppercase()));
    diff("body", current["body"].clone(), job.body.as_ref().filter(|b| !b.is_empty()).map_or(Value::Null, |b| json!(b)));
    diff("timeout_secs", current["timeout_secs"].clone(), json!(job.timeout_secs.unwrap_or(30)));
    diff("enabled", current["enabled"].clone(), json!(job.enabled.unwrap_or(true)));
    diff("overlap", current["overlap"].clone(), json!(job.overlap.as_deref().unwrap_or("allow").to_ascii_lowercase()));
    diff("completion_window_secs", current["completion_window_secs"].clone(), json!(job.completion_window_secs));
    if let Some(retry) = &job.retry {
        diff("retry.max_attempts", current["retry"]["max_attempts"].clone(), json!(retry.max_attempts));
        if let Some(b) = retry.base_delay_secs {
            diff("retry.base_delay_secs", current["retry"]["base_delay_secs"].clone(), json!(b));
        }
        if let Some(m) = retry.max_delay_secs {
            diff("retry.max_delay_secs", current["retry"]["max_delay_secs"].clone(), json!(m));
        }
    }
    let catch_up = job.catch_up.as_ref().map_or("run_once".to_owned(), |c| c.mode.to_ascii_lowercase());
    diff("catch_up.mode", current["catch_up"]["mode"].clone(), json!(catch_up));
    if let Some(cap) = job.catch_up.as_ref().and_then(|c| c.cap) {
        diff("catch_up.cap", current["catch_up"]["cap"].clone(), json!(cap));
    }
    let notifications = job.notifications.as_ref().map_or(Value::Null, |n| serde_json::to_value(n).unwrap_or(Value::Null));
    diff("notifications", current["notifications"].clone(), notifications);
    let wanted: Vec<(String, String)> = match &job.headers {
        None => Vec::new(),
        Some(Headers::Table(t)) => t.iter().map(|(n, v)| (n.clone(), v.clone())).collect(),
        Some(Headers::List(l)) => l.iter().map(|h| (h.name.clone(), h.value.clone())).collect(),
    };
    let stored: Vec<(String, String)> = current["headers"]
        .as_array()
        .map(|a| a.iter().map(|h| (cell(&h["name"]), cell(&h["value"]))).collect())
        .unwrap_or_default();
    out.extend(header_changes(&wanted, &stored));
    // the schedule in its canonical form, as the API would store it
    let was = &current["schedule"];
    let old = current["schedule_description"].as_str().unwrap_or("?").to_owned();
    match &job.schedule {
        Schedule::Once { at } => {
            if !(was["kind"] == "once" && same_instant(was["at"].as_str().unwrap_or(""), &at.0)) {
                out.push(format!("schedule: {old} → {}", schedule_summary(&job.schedule)));
            }
        }
        Schedule::Cron { expr, timezone } if was["kind"] == "cron" && was["expr"] == expr.as_str() && was["timezone"] == timezone.as_deref().unwrap_or("UTC") => {}
        s if *previews < MAX_PREVIEWS => {
            *previews += 1;
            let p = client.post("/api/v1/schedule/preview", Some(&json!({"schedule": s, "count": 1}))).await?;
            if !(was["kind"] == "cron" && was["expr"] == p["expr"] && was["timezone"] == p["timezone"]) {
                out.push(format!("schedule: {old} → {}", p["description"].as_str().map_or_else(|| schedule_summary(s), str::to_owned)));
            }
        }
        s => out.push(format!("schedule: {old} → {} (if different)", schedule_summary(s))),
    }
    Ok(out)
}

/// Two RFC 3339 instants that name the same moment (offsets differ, `Z` vs `+00:00`).
fn same_instant(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> String {
        s.trim().replace("+00:00", "Z").replace(".000", "")
    }
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> Desired {
        let job = |key: &str| files::Job {
            name: key.to_uppercase(),
            key: Some(key.to_owned()),
            url: "https://e.com".into(),
            method: None,
            headers: None,
            body: None,
            timeout_secs: None,
            enabled: None,
            retry: None,
            catch_up: None,
            overlap: None,
            completion_window_secs: None,
            notifications: None,
            schedule: Schedule::Cron { expr: "@daily".into(), timezone: None },
        };
        Desired { jobs: vec![job("a"), job("b")], lines: vec![Some(1), Some(7)] }
    }

    #[test]
    fn api_field_paths_name_the_job_and_its_line() {
        let d = desired();
        assert_eq!(field_label(&d, "jobs.toml", "jobs[1].schedule.expr"), "job \"b\" (jobs.toml line 7): schedule.expr");
        assert_eq!(field_label(&d, "jobs.toml", "jobs[0].key"), "job \"a\" (jobs.toml line 1): key");
        assert_eq!(field_label(&d, "jobs.toml", "jobs"), "jobs");
        assert_eq!(field_label(&d, "jobs.toml", "jobs[9].url"), "jobs[9].url");
    }

    #[test]
    fn header_changes_hide_secret_values() {
        let pair = |n: &str, v: &str| (n.to_owned(), v.to_owned());
        let stored = [pair("X-Env", "prod"), pair("Authorization", "********wxyz"), pair("X-Old", "1")];
        let wanted = [pair("x-env", "staging"), pair("Authorization", "Bearer 0123456789abcdefwxyz"), pair("X-New", "2")];
        assert_eq!(header_changes(&wanted, &stored), ["headers.x-env: \"prod\" → \"staging\"", "headers.X-New: added", "headers.X-Old: removed"]);
        let wanted = [pair("X-Env", "prod"), pair("Authorization", "Bearer 0123456789abcdef-new"), pair("X-Old", "1")];
        assert_eq!(header_changes(&wanted, &stored), ["headers.Authorization: changed (value hidden)"]);
    }

    #[test]
    fn instants_compare_by_moment_notation() {
        assert!(same_instant("2030-01-02T03:04:05Z", "2030-01-02T03:04:05+00:00"));
        assert!(!same_instant("2030-01-02T03:04:05Z", "2030-01-02T03:04:06Z"));
    }
}
