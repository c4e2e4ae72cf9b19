//! The browser harness itself, against two tiny pages served here: it drives a real Chromium
//! through a form, takes screenshots, and its accessibility check passes a good page and fails a
//! bad one (so a check that passes elsewhere means something).

#[path = "support/browser.rs"]
mod browser;

use std::sync::Arc;

use axum::Router;
use axum::extract::Form;
use axum::response::Html;
use axum::routing::get;
use browser::Browser;

const FORM: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Say hello</title></head>
<body><main>
  <h1>Say hello</h1>
  <form method="post" action="/form">
    <p><label for="name">Your name</label> <input id="name" name="name" type="text"></p>
    <p><label>Message <textarea name="message"></textarea></label></p>
    <button type="submit">Send</button>
  </form>
</main></body></html>"#;

/// No language, an image without alt text, a field without a label.
const BROKEN: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Broken</title></head>
<body>
  <img src="/logo.png">
  <input type="text" name="q">
</body></html>"#;

/// Serves GET /form, POST /form (echoes the fields) and GET /broken on 127.0.0.1; returns the base URL.
async fn serve() -> String {
    async fn echo(Form(fields): Form<Vec<(String, String)>>) -> Html<String> {
        let items: String = fields.iter().map(|(k, v)| format!("<li>{}: {}</li>", escape(k), escape(v))).collect();
        Html(format!(r#"<!doctype html><html lang="en"><head><title>Sent</title></head><body><main><h1>Sent</h1><ul>{items}</ul></main></body></html>"#))
    }
    let app = Router::new()
        .route("/form", get(|| async { Html(FORM) }).post(echo))
        .route("/broken", get(|| async { Html(BROKEN) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn assert_png(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.len() > 100 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", path.display());
}

#[tokio::test]
async fn the_harness_fills_a_form_takes_screenshots_and_checks_accessibility() {
    let base = serve().await;
    let browser = Browser::start().await;

    // a form, filled by label and by name, submitted by its button's text
    browser.goto(&format!("{base}/form")).await;
    browser.fill_by_label("Your name", "Ada <Lovelace>").await;
    browser.fill("message", "hello from Chromium").await;
    browser.assert_accessible("the form").await;
    assert_png(&browser.screenshot("harness-form").await);
    browser.click_button("Send").await;
    browser.wait_for_text("name: Ada <Lovelace>").await;
    assert!(browser.text().await.contains("message: hello from Chromium"), "{}", browser.text().await);
    browser.assert_accessible("the echo page").await;

    // a page with faults: the checker sees them, and assert_accessible fails naming them
    browser.goto(&format!("{base}/broken")).await;
    browser.wait_for(fantoccini::Locator::Css("img")).await;
    assert_png(&browser.screenshot("harness-broken").await);
    let violations = browser.axe_violations().await;
    let serious: Vec<String> = browser::serious(&violations).iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect();
    for rule in ["image-alt", "label", "html-has-lang"] {
        assert!(serious.iter().any(|id| id == rule), "axe should report {rule} as serious or critical; it reported {serious:?}");
    }
    let browser = Arc::new(browser);
    let checking = browser.clone();
    let failed = tokio::spawn(async move { checking.assert_accessible("the broken page").await }).await.expect_err("assert_accessible fails on the broken page");
    let message = failed.into_panic().downcast::<String>().map(|m| *m).unwrap_or_default();
    assert!(message.contains("the broken page") && message.contains("image-alt") && message.contains("label"), "{message}");

    Arc::into_inner(browser).expect("no other handle").close().await;
}
