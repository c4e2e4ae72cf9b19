//! Real dispatcher processes for cluster tests: the binary Cargo built for this test run, started
//! with a test configuration, killed on drop.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

pub struct Node {
    pub name: String,
    pub ops: String,
    child: Child,
}

impl Node {
    /// Starts `dispatcher` on `database_url` and waits for its `listening on` line. `extra`
    /// variables are set last, so they override the test defaults.
    pub async fn start(name: &str, database_url: &str, extra: &[(&str, &str)]) -> Node {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dispatcher"));
        cmd.env("DATABASE_URL", database_url)
            .env("PRIKKE_INSTANCE_ID", name)
            .env("PRIKKE_DISPATCHER_BIND", "127.0.0.1:0")
            .env("PRIKKE_ALLOW_PRIVATE_TARGETS", "127.0.0.0/8")
            .env("PRIKKE_LEADER_POLL_MS", "200")
            .env("PRIKKE_HEARTBEAT_MS", "500")
            .env("PRIKKE_RESCUE_EVERY_MS", "500")
            .env("PRIKKE_POLL_MS", "200")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("dispatcher binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("dispatcher reports its address")
            .unwrap()
            .unwrap_or_default();
        let ops = first.strip_prefix("listening on ").expect("first line names the address").to_owned();
        Node { name: name.to_owned(), ops, child }
    }

    /// SIGKILL: no shutdown, no hand-back (a crash).
    pub async fn kill9(&mut self) {
        self.child.kill().await.unwrap();
    }

    /// SIGTERM: graceful shutdown; waits (at most a minute) for the exit and returns its status.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("the dispatcher is still running");
        let sent = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await.expect("the dispatcher exits after SIGTERM").unwrap()
    }

    /// The Prometheus text of this node's /metrics.
    pub async fn metrics(&self) -> String {
        get(&self.ops, "/metrics").await.expect("/metrics answers")
    }

    /// Whether /health says this node currently leads (false when it does not answer).
    pub async fn is_leader(&self) -> bool {
        get(&self.ops, "/health").await.is_some_and(|body| body.contains("\"leader\":true"))
    }
}

/// A minimal HTTP/1.0 GET (keeps the tests free of an HTTP client's TLS set-up).
pub async fn get(base: &str, path: &str) -> Option<String> {
    let addr = base.strip_prefix("http://")?;
    let mut stream = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await.ok()?.ok()?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).await.ok()?;
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(2), stream.read_to_string(&mut out)).await.ok()?.ok()?;
    Some(out)
}
