//! The whole account journey in a real headless Chromium, with every e-mail read back from a
//! real SMTP server (the dispatcher sends them from the outbox): sign up, confirm from the mail,
//! sign in, make an organization, make an API key and use it with a plain HTTP client, invite a
//! colleague who joins from their mail and sees the job, revoke the key (its next request gets
//! 401), sign out; then a magic-link sign-in and a password reset through real mail. Every page
//! visited is saved under `target/screenshots/` and checked with axe-core (no serious or critical
//! violation).

#[path = "support/browser.rs"]
mod browser;
#[path = "../../dispatcher/tests/support/smtp.rs"]
mod smtp;

use std::sync::Arc;
use std::time::Duration;

use browser::Browser;
use serde_json::Value;
use smtp::SmtpSink;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSWORD: &str = "correct horse battery";

async fn database_url(pool: &PgPool) -> String {
    let db: String = sqlx::query_scalar("SELECT current_database()").fetch_one(pool).await.unwrap();
    let server = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    format!("{}/{db}", server.rsplit_once('/').unwrap().0)
}

/// api-fn on 127.0.0.1 (its links point back at it), and the dispatcher sending its e-mail to
/// `smtp`. Returns the base URL.
async fn stack(pool: &PgPool, smtp: &SmtpSink) -> (String, dispatcher::Dispatcher) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let vars = [("DATABASE_URL", "postgres://unused@127.0.0.1/unused".to_owned()), ("PRIKKE_ENV", "test".into()), ("PRIKKE_PUBLIC_URL", base.clone())];
    let config = api_fn::Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    let app = api_fn::router(api_fn::AppState::new(pool.clone(), config));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut c = dispatcher::DispatcherConfig::with_database_url(database_url(pool).await);
    c.smtp_url = Some(smtp.url());
    c.alerts.public_url = base.clone();
    let d = dispatcher::Dispatcher::start(c, Arc::new(dispatcher::SystemClock)).expect("the dispatcher starts");
    (base, d)
}

/// The link to `path…` in the `n`-th e-mail the server received (0-based), addressed to `to`.
async fn link_in(smtp: &SmtpSink, n: usize, to: &str, path: &str) -> String {
    let mail: Value = smtp.wait_for(n + 1, Duration::from_secs(20)).await.remove(n);
    assert_eq!(mail["to"], serde_json::json!([to]), "{mail}");
    let text = mail["text"].as_str().unwrap();
    let at = text.find("http").unwrap_or_else(|| panic!("no link in {text}"));
    let link: String = text[at..].chars().take_while(|c| !c.is_whitespace()).collect();
    assert!(link.contains(path), "{link} is not a {path} link");
    link
}

/// A plain HTTP/1.1 request; returns the status.
async fn http(base: &str, method: &str, path: &str, key: &str, body: &str) -> u16 {
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no status in {out}"))
}

/// Screenshot and accessibility check of the page the browser shows.
async fn visit(b: &Browser, name: &str) {
    b.screenshot(name).await;
    b.assert_accessible(name).await;
}

async fn sign_out(b: &Browser) {
    b.click_button("Sign out").await;
    b.wait_for_text("You are signed out.").await;
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_account_from_sign_up_to_sign_out_in_a_real_browser(pool: PgPool) {
    let smtp = SmtpSink::start(0).await;
    let (base, dispatcher) = stack(&pool, &smtp).await;
    let b = Browser::start().await;

    // sign up, and confirm from the mail
    b.goto(&format!("{base}/app/signup")).await;
    visit(&b, "01-signup").await;
    b.fill("email", "ada@example.com").await;
    b.fill("password", PASSWORD).await;
    b.click_button("Create account").await;
    b.wait_for_text("We sent a message to ada@example.com").await;
    visit(&b, "02-check-your-mail").await;
    let confirm = link_in(&smtp, 0, "ada@example.com", "/app/confirm/").await;
    b.goto(&confirm).await;
    visit(&b, "03-confirm").await;
    b.click_button("Confirm and sign in").await;
    b.wait_for_text("Name your organization").await;
    visit(&b, "04-welcome").await;

    // sign out and in again with the password, then make the organization
    sign_out(&b).await;
    visit(&b, "05-signed-out").await;
    b.fill("email", "ada@example.com").await;
    b.fill("password", PASSWORD).await;
    b.click_button("Sign in").await;
    b.wait_for_text("Name your organization").await;
    b.fill("name", "Acme").await;
    b.click_button("Create organization").await;
    b.wait_for_text("No jobs yet").await;
    visit(&b, "06-jobs-empty").await;

    // an API key, used from outside to create a job
    b.click_link("API keys").await;
    b.wait_for_text("Webhook signing secrets").await;
    visit(&b, "07-keys").await;
    b.fill("name", "CI").await;
    b.click_button("Create key").await;
    b.wait_for_text("shown only this once").await;
    visit(&b, "08-key-created").await;
    let token = b.wait_for(fantoccini::Locator::Css("[data-testid=secret]")).await.text().await.unwrap();
    assert!(token.starts_with("pk_live_"), "{token}");
    let job = r#"{"name":"nightly report","url":"https://example.com/hook","schedule":{"kind":"cron","expr":"0 3 * * *"}}"#;
    assert_eq!(http(&base, "POST", "/api/v1/jobs", &token, job).await, 201);

    // invite Bob; he signs up from his mail, joins, and sees the job
    b.goto(&format!("{base}/app/members")).await;
    visit(&b, "09-members").await;
    b.fill("email", "bob@example.com").await;
    b.click_button("Send invitation").await;
    b.wait_for_text("Open invitations").await;
    visit(&b, "10-invited").await;
    let invite = link_in(&smtp, 1, "bob@example.com", "/app/invite/").await;
    sign_out(&b).await;
    b.goto(&invite).await;
    visit(&b, "11-invitation").await;
    b.click_link("Create an account").await;
    b.wait_for_text("Create your account").await;
    b.fill("email", "bob@example.com").await;
    b.fill("password", PASSWORD).await;
    b.click_button("Create account").await;
    b.wait_for_text("We sent a message to bob@example.com").await;
    let confirm = link_in(&smtp, 2, "bob@example.com", "/app/confirm/").await;
    b.goto(&confirm).await;
    b.click_button("Confirm and sign in").await;
    b.wait_for_text("You are invited to join Acme").await;
    visit(&b, "12-invitation-signed-in").await;
    b.click_button("Accept and join").await;
    b.wait_for_text("nightly report").await;
    visit(&b, "13-jobs-as-bob").await;
    assert!(b.text().await.contains("Organization: Acme (member"), "{}", b.text().await);
    sign_out(&b).await;

    // Ada signs in with a magic link and revokes the key: its next request gets 401
    b.goto(&format!("{base}/app/magic")).await;
    visit(&b, "14-magic").await;
    b.fill("email", "ada@example.com").await;
    b.click_button("E-mail me a link").await;
    b.wait_for_text("a link is on its way").await;
    let magic = link_in(&smtp, 3, "ada@example.com", "/app/magic/").await;
    b.goto(&magic).await;
    visit(&b, "15-magic-link").await;
    b.click_button("Sign in").await;
    b.wait_for_text("nightly report").await;
    b.goto(&format!("{base}/app/keys")).await;
    b.click_button("Revoke").await;
    b.wait_for_text("revoked").await;
    visit(&b, "16-key-revoked").await;
    assert_eq!(http(&base, "GET", "/api/v1/jobs", &token, "").await, 401);
    b.goto(&format!("{base}/app/audit")).await;
    b.wait_for_text("api_key.revoked").await;
    visit(&b, "17-audit").await;
    sign_out(&b).await;

    // a password reset through real mail; the new password signs in
    b.goto(&format!("{base}/app/reset")).await;
    visit(&b, "18-reset").await;
    b.fill("email", "ada@example.com").await;
    b.click_button("E-mail me a link").await;
    b.wait_for_text("a link is on its way").await;
    let reset = link_in(&smtp, 4, "ada@example.com", "/app/reset/").await;
    b.goto(&reset).await;
    visit(&b, "19-new-password").await;
    b.fill("password", "a brand new passphrase").await;
    b.click_button("Set password and sign in").await;
    b.wait_for_text("nightly report").await;
    sign_out(&b).await;
    b.fill("email", "ada@example.com").await;
    b.fill("password", "a brand new passphrase").await;
    b.click_button("Sign in").await;
    b.wait_for_text("nightly report").await;
    b.goto(&format!("{base}/app/settings")).await;
    visit(&b, "20-settings").await;
    sign_out(&b).await;

    b.close().await;
    dispatcher.shutdown().await;
}
