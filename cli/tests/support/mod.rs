//! The real api-fn router listening on 127.0.0.1 (port 0) against the test's own database
//! (`#[sqlx::test]`), an organization with an API key, and the built `prikke` binary run against
//! it with a private HOME / XDG_CONFIG_HOME. Every run checks that the key's secret appears in
//! neither stdout nor stderr.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use api_fn::provision::{NewOrganization, Provisioned, create_organization};
use domain::tier::Tier;
use serde_json::Value;
use sqlx::PgPool;
use tokio::io::AsyncWriteExt;

pub struct Server {
    pub base: String,
    pub pool: PgPool,
    pub org: Provisioned,
    /// HOME and XDG_CONFIG_HOME of every run: nothing of the real user's is read or written.
    pub home: TempDir,
    http: reqwest::Client,
}

/// One run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts exit code 0 and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "{self:#?}");
        &self.stdout
    }

    /// stdout parsed as JSON (asserting exit 0).
    pub fn json(&self) -> Value {
        serde_json::from_str(self.ok()).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("prikke-cli-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `name` in the directory and returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn config(public_url: &str) -> api_fn::Config {
    let vars = [
        ("DATABASE_URL", "postgres://unused@127.0.0.1/unused"),
        ("PRIKKE_ENV", "test"),
        ("PRIKKE_API_RATE_PER_MINUTE", "0"),
        ("PRIKKE_PUBLIC_URL", public_url),
    ];
    api_fn::Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())).unwrap()
}

/// api-fn on a free port with one organization on `tier`. The server task ends with the test's runtime.
pub async fn start(pool: PgPool, tier: Tier) -> Server {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = api_fn::AppState::new(pool.clone(), config(&base));
    let app = api_fn::router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap() });
    let org = create_organization(&pool, &state.keyring, &NewOrganization { name: "Acme", slug: "acme", tier, key_name: "cli test" }).await.unwrap();
    Server { base, pool, org, home: TempDir::new(), http: reqwest::Client::new() }
}

impl Server {
    /// The part of the key that must never be shown.
    pub fn secret(&self) -> &str {
        self.org.api_key.split_once(".sk_live_").map(|(_, s)| s).expect("a pk_live_….sk_live_… key")
    }

    /// `prikke ARGS` with this server's URL and key in the environment.
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[("PRIKKE_API_URL", &self.base), ("PRIKKE_API_KEY", &self.org.api_key)], None).await
    }

    /// `prikke ARGS` with exactly `env` (of the PRIKKE_ variables) and `stdin`.
    pub async fn run_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_prikke"));
        cmd.args(args)
            .env_remove("PRIKKE_API_URL")
            .env_remove("PRIKKE_API_KEY")
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("NO_COLOR", "1")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(input.as_bytes()).await.unwrap();
            drop(pipe);
        }
        let out = child.wait_with_output().await.unwrap();
        let run = Run {
            code: out.status.code().expect("exited, not killed by a signal"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        };
        assert!(!run.stdout.contains(self.secret()) && !run.stderr.contains(self.secret()), "the key was printed: {run:#?}");
        run
    }

    /// GET an API path with the organization's key (independently of the CLI); asserts 200.
    pub async fn api(&self, path: &str) -> Value {
        let res = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.org.api_key).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        res.json().await.unwrap()
    }

    /// POST an API path with a JSON body; returns (status, body).
    pub async fn api_post(&self, path: &str, body: &Value) -> (u16, Value) {
        let res = self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.org.api_key).json(body).send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }

    /// Every job (key, name, cron expr, enabled), ordered by name, read through the API.
    pub async fn jobs(&self) -> Vec<Value> {
        let mut all = self.api("/api/v1/jobs?limit=100").await["data"].as_array().unwrap().clone();
        all.sort_by_key(|j| j["name"].as_str().unwrap().to_owned());
        all
    }

    /// The keys of the keyed jobs, sorted.
    pub async fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.jobs().await.iter().filter_map(|j| j["key"].as_str().map(str::to_owned)).collect();
        keys.sort();
        keys
    }
}

/// Sets an execution's outcome as the dispatcher would when it finishes (no dispatcher runs here).
pub async fn finish(pool: &PgPool, id: &str, status: &str) {
    sqlx::query("UPDATE executions SET status = $2, attempt = 1, started_at = now(), finished_at = now(), response_status = 500, error = 'boom' WHERE id = $1::uuid")
        .bind(id)
        .bind(status)
        .execute(pool)
        .await
        .unwrap();
}
