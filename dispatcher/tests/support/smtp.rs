//! A real SMTP server for the alert tests: `scripts/smtp-sink/smtp_sink.py` (aiosmtpd), started
//! on 127.0.0.1:0 and killed on drop. Every message it accepts arrives here as JSON (subject,
//! Message-ID, List-Unsubscribe, text and HTML parts, headers); tests await them.
//!
//! The Python comes from `PRIKKE_SMTP_SINK_PYTHON`, which `scripts/test` sets to a venv with the
//! pinned aiosmtpd (`scripts/smtp-sink/ensure.sh`); otherwise `python3`, which must have aiosmtpd.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

pub struct SmtpSink {
    /// `127.0.0.1:<port>`
    pub addr: String,
    mails: Arc<Mutex<Vec<Value>>>,
    count: watch::Receiver<usize>,
    refused: Arc<Mutex<usize>>,
    _child: Child,
}

impl SmtpSink {
    /// Starts a sink on a free port; it answers the first `refuse_first` messages with a
    /// temporary failure.
    pub async fn start(refuse_first: usize) -> SmtpSink {
        Self::start_on(0, refuse_first).await
    }

    /// [`SmtpSink::start`] on `port`.
    pub async fn start_on(port: u16, refuse_first: usize) -> SmtpSink {
        let python = std::env::var("PRIKKE_SMTP_SINK_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let script = std::env::var("PRIKKE_SMTP_SINK_SCRIPT")
            .unwrap_or_else(|_| format!("{}/../scripts/smtp-sink/smtp_sink.py", env!("CARGO_MANIFEST_DIR")));
        let mut child = Command::new(&python)
            .arg(&script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--refuse-first")
            .arg(refuse_first.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python} {script}: {e}"));
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.ok().and_then(|l| l.ok().flatten()).unwrap_or_default();
        let addr = first.strip_prefix("listening on ").unwrap_or_else(|| {
            panic!("the SMTP sink did not start ({first:?}); it needs aiosmtpd: run scripts/test, or set PRIKKE_SMTP_SINK_PYTHON to a Python that has it")
        });
        let addr = addr.to_owned();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(0));
        let (tx, count) = watch::channel(0usize);
        {
            let (mails, refused) = (mails.clone(), refused.clone());
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    let v: Value = serde_json::from_str(&line).unwrap_or_default();
                    if v["refused"] == true {
                        *refused.lock().unwrap() += 1;
                        continue;
                    }
                    mails.lock().unwrap().push(v);
                    tx.send_modify(|c| *c += 1);
                }
            });
        }
        SmtpSink { addr, mails, count, refused, _child: child }
    }

    /// The `PRIKKE_SMTP_URL` that reaches it.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn mails(&self) -> Vec<Value> {
        self.mails.lock().unwrap().clone()
    }

    /// How many messages it refused.
    pub fn refused(&self) -> usize {
        *self.refused.lock().unwrap()
    }

    /// Waits until at least `n` messages were accepted (fails the test after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Value> {
        let mut rx = self.count.clone();
        let reached = tokio::time::timeout(within, rx.wait_for(|c| *c >= n)).await;
        assert!(reached.is_ok(), "expected {n} e-mails within {within:?}, got {}", self.mails().len());
        self.mails()
    }
}
