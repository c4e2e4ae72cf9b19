//! The files the CLI reads: a job (`prikke jobs create --file`) and a set of jobs (`prikke sync`),
//! as TOML or JSON. The types mirror the API's job input (`JobInput` in api-fn's OpenAPI
//! document, `{"jobs": [...]}` for `PUT /api/v1/sync`) and refuse unknown fields, so a typo is an
//! error naming its line and field here instead of a field the API never sees. Values are
//! checked by the API (one set of rules); this only checks the shape.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A jobs-as-code file: `[[jobs]]` tables, each with a `key`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncFile {
    pub jobs: Vec<toml::Spanned<Job>>,
}

/// A JSON sync file (no spans in JSON: errors name the path and line instead).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncFileJson {
    jobs: Vec<Job>,
}

/// One job as the API takes it. `None` fields are left out of the request (the API's defaults).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catch_up: Option<CatchUp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_window_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Notifications>,
    pub schedule: Schedule,
}

/// Headers as a table (`{ "X-Env" = "prod" }`) or a list of `{ name, value }`, in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Headers {
    Table(BTreeMap<String, String>),
    List(Vec<Header>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    pub max_attempts: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_delay_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_secs: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatchUp {
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<u16>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mute: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
}

/// `{ kind = "cron", expr, timezone }`, `{ kind = "once", at }` or `{ kind = "preset", preset, timezone }`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    Cron {
        expr: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timezone: Option<String>,
    },
    Once {
        at: Instant,
    },
    Preset {
        preset: Preset,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timezone: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "interval", rename_all = "snake_case", deny_unknown_fields)]
pub enum Preset {
    Hourly {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minute: Option<u8>,
    },
    Daily {
        hour: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minute: Option<u8>,
    },
    Weekly {
        weekday: String,
        hour: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minute: Option<u8>,
    },
}

/// An instant: an RFC 3339 string, or in TOML also a bare date-time (`at = 2026-12-24T18:00:00Z`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instant(pub String);

impl Serialize for Instant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Instant;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a date-time with its offset, such as 2026-12-24T18:00:00Z")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Instant, E> {
                Ok(Instant(s.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Instant, A::Error> {
                let at = toml::value::Datetime::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Instant(at.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A file that could not be read or does not have the expected shape: exit 2, nothing sent.
#[derive(Debug)]
pub struct FileError(pub String);

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file's format, by its extension (TOML unless it ends in `.json`).
fn is_json(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

fn read(path: &Path) -> Result<String, FileError> {
    std::fs::read_to_string(path).map_err(|e| FileError(format!("cannot read {}: {e}", path.display())))
}

/// `toml`'s message already shows the line, column and the offending text; add the field path.
fn toml_error(path: &Path, e: serde_path_to_error::Error<toml::de::Error>) -> FileError {
    // `Spanned` shows up in the path as a private field name
    let field = e.path().to_string().replace(".$__serde_spanned_private_value", "");
    let inner = e.into_inner();
    let mut msg = format!("{} is not a valid file", path.display());
    if field != "." && !field.is_empty() {
        msg.push_str(&format!(" (field `{field}`)"));
    }
    msg.push_str(":\n");
    msg.push_str(inner.to_string().trim_end());
    FileError(msg)
}

fn json_error(path: &Path, e: serde_path_to_error::Error<serde_json::Error>) -> FileError {
    let field = e.path().to_string();
    let inner = e.into_inner();
    FileError(format!(
        "{} is not a valid file: line {}, column {}, field `{field}`: {}",
        path.display(),
        inner.line(),
        inner.column(),
        strip_position(&inner.to_string())
    ))
}

/// serde_json appends " at line L column C"; the message above says it already.
fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}

fn parse_toml<T: for<'de> Deserialize<'de>>(path: &Path, text: &str) -> Result<T, FileError> {
    let de = toml::Deserializer::parse(text).map_err(|e| FileError(format!("{} is not valid TOML:\n{}", path.display(), e.to_string().trim_end())))?;
    serde_path_to_error::deserialize(de).map_err(|e| toml_error(path, e))
}

fn parse_json<T: for<'de> Deserialize<'de>>(path: &Path, text: &str) -> Result<T, FileError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(path, e))?;
    de.end().map_err(|e| FileError(format!("{} is not valid JSON: {e}", path.display())))?;
    Ok(value)
}

/// The jobs of a sync file, each with the line its table starts on (TOML) for error messages.
#[derive(Debug)]
pub struct Desired {
    pub jobs: Vec<Job>,
    /// 1-based line of each job, when known.
    pub lines: Vec<Option<usize>>,
}

pub fn read_sync_file(path: &Path) -> Result<Desired, FileError> {
    let text = read(path)?;
    if is_json(path) {
        let file: SyncFileJson = parse_json(path, &text)?;
        let lines = vec![None; file.jobs.len()];
        return Ok(Desired { jobs: file.jobs, lines });
    }
    let file: SyncFile = parse_toml(path, &text)?;
    let lines = file.jobs.iter().map(|j| Some(line_of(&text, j.span().start))).collect();
    Ok(Desired { jobs: file.jobs.into_iter().map(toml::Spanned::into_inner).collect(), lines })
}

pub fn read_job_file(path: &Path) -> Result<Job, FileError> {
    let text = read(path)?;
    if is_json(path) { parse_json(path, &text) } else { parse_toml(path, &text) }
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` as the sync file `name` (written to a directory of its own, removed after).
    fn sync_file(name: &str, text: &str) -> Result<Desired, FileError> {
        let dir = std::env::temp_dir().join(format!("prikke-cli-unit-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let result = read_sync_file(&path);
        std::fs::remove_dir_all(&dir).unwrap();
        result
    }

    #[test]
    fn a_good_file_becomes_the_api_body() {
        let d = sync_file("good.toml", r#"
[[jobs]]
key = "a"
name = "A"
url = "https://example.com/a"
headers = { "X-Env" = "prod" }
schedule = { kind = "cron", expr = "0 3 * * *", timezone = "Europe/Oslo" }

[[jobs]]
key = "b"
name = "B"
url = "https://example.com/b"
schedule = { kind = "once", at = 2030-01-02T03:04:05Z }
"#)
        .unwrap();
        assert_eq!(d.lines, vec![Some(2), Some(9)], "the lines of the [[jobs]] headers");
        let json = serde_json::to_value(&d.jobs).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"key": "a", "name": "A", "url": "https://example.com/a", "headers": {"X-Env": "prod"}, "schedule": {"kind": "cron", "expr": "0 3 * * *", "timezone": "Europe/Oslo"}},
                {"key": "b", "name": "B", "url": "https://example.com/b", "schedule": {"kind": "once", "at": "2030-01-02T03:04:05Z"}}
            ])
        );
    }

    #[test]
    fn unknown_fields_and_wrong_types_name_line_and_field() {
        let e = sync_file("typo.toml", "[[jobs]]\nkey = \"a\"\nname = \"A\"\nurl = \"https://e.com\"\ntimeuot_secs = 5\nschedule = { kind = \"cron\", expr = \"@daily\" }\n").unwrap_err().0;
        assert!(e.contains("line 5") && e.contains("timeuot_secs"), "{e}");
        let e = sync_file("type.toml", "[[jobs]]\nkey = \"a\"\nname = \"A\"\nurl = \"https://e.com\"\ntimeout_secs = \"long\"\nschedule = { kind = \"cron\", expr = \"@daily\" }\n").unwrap_err().0;
        assert!(e.contains("line 5") && e.contains("jobs[0].timeout_secs"), "{e}");
        let e = sync_file("sched.toml", "[[jobs]]\nkey = \"a\"\nname = \"A\"\nurl = \"https://e.com\"\nschedule = { kind = \"cron\", expr = \"@daily\", tz = \"UTC\" }\n").unwrap_err().0;
        assert!(e.contains("line 5") && e.contains("tz"), "{e}");
        let e = sync_file("typo.json", "{\"jobs\": [\n {\"key\": \"a\", \"name\": \"A\", \"url\": \"https://e.com\",\n  \"timeout_secs\": \"x\", \"schedule\": {\"kind\": \"cron\", \"expr\": \"@daily\"}}]}").unwrap_err().0;
        assert!(e.contains("line 3") && e.contains("jobs[0].timeout_secs"), "{e}");
    }

    #[test]
    fn lines_are_counted_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }
}
