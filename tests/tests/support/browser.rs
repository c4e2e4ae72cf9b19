//! A real headless Chromium for the browser tests, driven over W3C WebDriver (chromedriver +
//! fantoccini), with screenshots and axe-core accessibility checks.
//!
//! Include it with `#[path = "support/browser.rs"] mod browser;`. It needs chromedriver and
//! axe-core: `source scripts/browser/ensure.sh && prikke_browser_ensure` installs both (once) and
//! exports `PRIKKE_CHROMEDRIVER` and `PRIKKE_AXE_JS`.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long a wait (for chromedriver, an element, a condition) may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);
/// How often a wait checks again.
const POLL: Duration = Duration::from_millis(50);
/// The key of an element reference in WebDriver's JSON.
const W3C_ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const HOW_TO_INSTALL: &str = "run scripts/test, or `source scripts/browser/ensure.sh && prikke_browser_ensure` before cargo";

/// A headless Chromium session; its chromedriver (and the browser under it) die with it.
pub struct Browser {
    /// The WebDriver client, for anything the helpers below do not cover.
    pub client: Client,
    driver: Driver,
    /// chromedriver's port, for the commands fantoccini has no method for.
    port: u16,
}

/// The chromedriver process, in a process group of its own that Drop kills whole (the Chromium
/// processes it started are in it too).
struct Driver(Child);

impl Browser {
    /// Starts chromedriver (`$PRIKKE_CHROMEDRIVER`, else from PATH) on a free port and opens a session.
    pub async fn start() -> Browser {
        let path = std::env::var("PRIKKE_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
        for _attempt in 0..3 {
            // a free port, unless something else takes it before chromedriver does: then it exits
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let child = Command::new(&path)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start chromedriver ({path}): {e}; {HOW_TO_INSTALL}"));
            let mut driver = Driver(child);
            if driver.listening(port).await {
                return Browser { client: connect(port).await, driver, port };
            }
        }
        panic!("chromedriver ({path}) exited three times before listening");
    }

    /// Grants the page a permission (`clipboard-read`, …) through the W3C Permissions extension
    /// command, which chromedriver answers and fantoccini has no method for (plain HTTP/1.1).
    pub async fn grant(&self, permission: &str) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let id = self.client.session_id().await.unwrap().expect("a session");
        let body = serde_json::json!({"descriptor": {"name": permission}, "state": "granted"}).to_string();
        let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let request = format!("POST /session/{id}/permissions HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", self.port, body.len());
        conn.write_all(request.as_bytes()).await.unwrap();
        // the status line is in the first bytes (chromedriver may keep the connection open)
        let mut answer = vec![0u8; 512];
        let n = tokio::time::timeout(WAIT, conn.read(&mut answer)).await.expect("chromedriver answers").unwrap();
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(answer.starts_with("HTTP/1.1 200"), "chromedriver refused the permission {permission}: {answer}");
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// Types `value` into the form control labelled `label` (the label's whole text, whitespace collapsed).
    pub async fn fill_by_label(&self, label: &str, value: &str) {
        const FIND: &str = "const want = arguments[0];
            const labels = [...document.querySelectorAll('label')];
            const l = labels.find(l => l.textContent.replace(/\\s+/g, ' ').trim() === want);
            return l ? (l.control || 'the label has no control') : 'no label; labels: ' + labels.map(l => JSON.stringify(l.textContent.trim())).join(', ');";
        let control = self.element_from_js(FIND, vec![json!(label)], &format!("label {label:?}")).await;
        type_into(&control, value).await;
    }

    /// Types `value` into the form control whose name or id is `name_or_id`.
    pub async fn fill(&self, name_or_id: &str, value: &str) {
        const FIND: &str = "const n = arguments[0];
            return document.getElementsByName(n)[0] || document.getElementById(n) || 'no element with that name or id';";
        let control = self.element_from_js(FIND, vec![json!(name_or_id)], &format!("field {name_or_id:?}")).await;
        type_into(&control, value).await;
    }

    /// Clicks the visible button (`<button>`, `<input type=submit|button>`, role=button) whose text is `text`.
    pub async fn click_button(&self, text: &str) {
        const FIND: &str = "const want = arguments[0];
            const all = [...document.querySelectorAll('button, input[type=submit], input[type=button], [role=button]')];
            const text = b => (b.tagName === 'INPUT' ? b.value : b.textContent).replace(/\\s+/g, ' ').trim();
            return all.find(b => text(b) === want && b.getClientRects().length > 0)
                || 'no such button; buttons: ' + all.map(b => JSON.stringify(text(b))).join(', ');";
        let button = self.element_from_js(FIND, vec![json!(text)], &format!("button {text:?}")).await;
        button.click().await.unwrap_or_else(|e| panic!("cannot click button {text:?}: {e}"));
    }

    /// Clicks the link whose text is `text`.
    pub async fn click_link(&self, text: &str) {
        let link = self.wait_for(Locator::LinkText(text)).await;
        link.click().await.unwrap_or_else(|e| panic!("cannot click link {text:?}: {e}"));
    }

    /// The page's visible text (`document.body.innerText`).
    pub async fn text(&self) -> String {
        let text = self.client.execute("return document.body ? document.body.innerText : ''", vec![]).await.unwrap();
        text.as_str().unwrap_or_default().to_owned()
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    /// Waits (at most `WAIT`) for an element, e.g. `Locator::Css("form#login")`, and returns it.
    pub async fn wait_for(&self, what: Locator<'_>) -> Element {
        self.client.wait().at_most(WAIT).every(POLL).for_element(what).await.unwrap_or_else(|e| panic!("no element {what:?} within {WAIT:?}: {e}"))
    }

    /// Waits (at most `WAIT`) until the page's visible text contains `text`.
    pub async fn wait_for_text(&self, text: &str) {
        let found = self.wait_until_js("return document.body && document.body.innerText.includes(arguments[0])", vec![json!(text)]).await;
        if !found {
            panic!("the page never showed {text:?} within {WAIT:?}; it shows:\n{}", self.text().await);
        }
    }

    /// Waits (at most `WAIT`) until the JavaScript function body `script` returns true; false if it never did.
    pub async fn wait_until_js(&self, script: &str, args: Vec<Value>) -> bool {
        let deadline = Instant::now() + WAIT;
        loop {
            // an error is a page in the middle of navigating: try again
            if let Ok(Value::Bool(true)) = self.client.execute(script, args.clone()).await {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Saves a PNG of the window to `<workspace>/target/screenshots/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await.unwrap()).unwrap();
        path
    }

    /// axe-core's violations on the current page (each has `id`, `impact`, `help`, `nodes`).
    pub async fn axe_violations(&self) -> Vec<Value> {
        let loaded = self.client.execute("return typeof axe !== 'undefined'", vec![]).await.unwrap();
        if loaded != Value::Bool(true) {
            self.client.execute(axe_source(), vec![]).await.expect("axe-core loads into the page");
        }
        const RUN: &str = "const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] }).then(r => done(r.violations), e => done('axe failed: ' + e));";
        match self.client.execute_async(RUN, vec![]).await.unwrap() {
            Value::Array(violations) => violations,
            other => panic!("axe-core did not run: {other}"),
        }
    }

    /// Fails the test, listing them, if axe-core finds serious or critical violations on the page.
    pub async fn assert_accessible(&self, page_name: &str) {
        let bad = serious(&self.axe_violations().await);
        if !bad.is_empty() {
            panic!("{page_name}: {} serious or critical accessibility violation(s):\n{}", bad.len(), describe(&bad));
        }
    }

    /// Ends the session (the browser quits and cleans up its profile), then stops chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        // Drop kills chromedriver
    }

    /// Runs `script` (a function body) and turns the element it returns into an `Element`; a
    /// returned string is the reason there is none.
    async fn element_from_js(&self, script: &str, args: Vec<Value>, what: &str) -> Element {
        let found = self.client.execute(script, args).await.unwrap_or_else(|e| panic!("cannot look for {what}: {e}"));
        match found.get(W3C_ELEMENT_KEY).and_then(Value::as_str) {
            Some(id) => Element::from_element_id(self.client.clone(), id.to_owned().into()),
            None => panic!("{what}: {}", found.as_str().unwrap_or(&found.to_string())),
        }
    }
}

impl Driver {
    /// Waits (at most `WAIT`) until chromedriver accepts connections on `port`; false if it exited.
    async fn listening(&mut self, port: u16) -> bool {
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = self.0.try_wait() {
                eprintln!("chromedriver exited ({status}) before listening on port {port}");
                return false;
            }
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {port} within {WAIT:?}");
            tokio::time::sleep(POLL).await;
        }
        true
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // the whole process group: chromedriver and the Chromium processes it started
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.0.id())]).stderr(Stdio::null()).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The violations whose impact is serious or critical.
pub fn serious(violations: &[Value]) -> Vec<Value> {
    violations.iter().filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical"))).cloned().collect()
}

/// One line per violation (rule, impact, help, where), for a failure message.
pub fn describe(violations: &[Value]) -> String {
    let line = |v: &Value| {
        let nodes: Vec<String> = v["nodes"].as_array().into_iter().flatten().map(|n| n["target"].to_string()).collect();
        format!("  - {} ({}): {} [{}] at {}", v["id"].as_str().unwrap_or("?"), v["impact"].as_str().unwrap_or("?"), v["help"].as_str().unwrap_or(""), v["helpUrl"].as_str().unwrap_or(""), nodes.join(", "))
    };
    violations.iter().map(line).collect::<Vec<_>>().join("\n")
}

/// Clears `control` and types `value` into it, as a user would.
async fn type_into(control: &Element, value: &str) {
    control.clear().await.unwrap_or_else(|e| panic!("cannot clear the field: {e}"));
    control.send_keys(value).await.unwrap_or_else(|e| panic!("cannot type into the field: {e}"));
}

/// Opens a headless Chromium session on the chromedriver at `port`.
async fn connect(port: u16) -> Client {
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"] },
    });
    let serde_json::Value::Object(caps) = caps else { unreachable!() };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| panic!("chromedriver could not start Chromium: {e}; {HOW_TO_INSTALL}"))
}

/// The text of axe.min.js (`$PRIKKE_AXE_JS`), read once.
fn axe_source() -> &'static str {
    static AXE: OnceLock<String> = OnceLock::new();
    AXE.get_or_init(|| {
        let path = std::env::var("PRIKKE_AXE_JS").unwrap_or_else(|_| panic!("PRIKKE_AXE_JS is not set; {HOW_TO_INSTALL}"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read axe-core at {path}: {e}; {HOW_TO_INSTALL}"))
    })
}
