//! The dashboard in a real headless Chromium against the real api-fn, the real dispatcher and
//! receivers on 127.0.0.1, through the UI only: sign in; create a job from the "every 5 minutes"
//! preset in Europe/Oslo and see its preview refresh as the form changes; create a one-time job
//! due in a few seconds aimed at a receiver and watch its run appear in the job's history
//! without a reload, with the receiver's status code; open it and see the request and the
//! response; run a failing job and redeliver the failed run; pause a job and delete it after the
//! confirmation page; create a monitor and see it go down once the dispatcher's clock is moved
//! on, copy its ping URL with the copy button; edit an alert channel. Every page is saved under
//! `target/screenshots/` at 1280 px and at 390 px (a phone), checked with axe-core (no serious or
//! critical violation) and, on the phone, for sideways overflow (wide tables scroll inside their
//! wrapper, the page itself never does).

#[path = "support/browser.rs"]
mod browser;
mod support;

use std::sync::Arc;
use std::time::Duration;

use browser::Browser;
use chrono::Utc;
use fantoccini::Locator;
use serde_json::json;
use sqlx::PgPool;
use support::{Receiver, database_url};

const PASSWORD: &str = "correct horse battery";

/// api-fn listening on 127.0.0.1 (a Pro organization with one owner, ada@example.com), and a
/// dispatcher allowed to call loopback receivers. Returns the base URL.
async fn stack(pool: &PgPool) -> (String, dispatcher::Dispatcher) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let vars = [("DATABASE_URL", "postgres://unused@127.0.0.1/unused".to_owned()), ("PRIKKE_ENV", "test".into()), ("PRIKKE_PUBLIC_URL", base.clone())];
    let config = api_fn::Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    let app = api_fn::router(api_fn::AppState::new(pool.clone(), config));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let org = api_fn::provision::create_organization(pool, &store::keyring::Keyring::development(), &api_fn::provision::NewOrganization { name: "Acme", slug: "acme", tier: domain::tier::Tier::Pro, key_name: "setup" })
        .await
        .unwrap();
    let hash = api_fn::app::password::hash(PASSWORD.to_owned()).await;
    let user = store::users::insert(pool, "ada@example.com", None, Some(&hash)).await.unwrap();
    sqlx::query("UPDATE users SET email_verified_at = now() WHERE id = $1").bind(user.id).execute(pool).await.unwrap();
    store::users::upsert_membership(pool, org.org_id, user.id, store::users::Role::Owner).await.unwrap();
    (base, shifted_dispatcher(pool, chrono::Duration::zero()).await)
}

/// A dispatcher whose clock runs `ahead` of the wall clock (time injected), for things that
/// happen only once time has passed.
async fn shifted_dispatcher(pool: &PgPool, ahead: chrono::Duration) -> dispatcher::Dispatcher {
    let mut c = dispatcher::DispatcherConfig::with_database_url(database_url(pool).await);
    c.allow_targets = vec!["127.0.0.0/8".parse().unwrap()];
    c.poll = Duration::from_millis(200);
    c.leader_poll = Duration::from_millis(200);
    c.shutdown_grace = Duration::from_secs(5);
    dispatcher::Dispatcher::start(c, Arc::new(dispatcher::OffsetClock(ahead))).expect("the dispatcher starts")
}

/// Screenshots at desktop and phone width, and the accessibility check.
async fn visit(b: &Browser, name: &str) {
    b.screenshot(&format!("dashboard-{name}")).await;
    b.client.set_window_size(390, 844).await.unwrap();
    b.screenshot(&format!("dashboard-{name}-phone")).await;
    const OVERFLOW: &str = "return [document.documentElement.scrollWidth, window.innerWidth, [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll, details:not([open])')).slice(0, 5).map(e => e.tagName + '.' + e.className).join(' ')];";
    let widths = b.client.execute(OVERFLOW, vec![]).await.unwrap();
    assert!(widths[0].as_i64() <= widths[1].as_i64(), "{name} at 390 px is wider than the screen (scrollWidth, innerWidth, sticking out): {widths}");
    // and within the screen, no control sticks out of its fieldset's border (a long option did)
    const OUT_OF_FIELDSET: &str = "return [...document.querySelectorAll('fieldset')].flatMap(f => { const edge = f.getBoundingClientRect().right;
        return [...f.querySelectorAll('input, select, textarea, button')].filter(e => e.offsetParent !== null && e.getBoundingClientRect().right > edge + 1).map(e => e.name || e.tagName); });";
    let out = b.client.execute(OUT_OF_FIELDSET, vec![]).await.unwrap();
    assert_eq!(out, serde_json::json!([]), "{name} at 390 px: controls sticking out of their fieldset");
    b.assert_accessible(&format!("{name} (390 px)")).await;
    b.client.set_window_size(1280, 900).await.unwrap();
}

/// Chooses `value` in the `<select name=…>` as a person would (the change event fires).
async fn choose(b: &Browser, name: &str, value: &str) {
    const SET: &str = "const s = document.getElementsByName(arguments[0])[0];
        if (![...s.options].some(o => o.value === arguments[1])) return 'no option ' + arguments[1];
        s.value = arguments[1]; s.dispatchEvent(new Event('change', { bubbles: true })); return true;";
    let done = b.client.execute(SET, vec![json!(name), json!(value)]).await.unwrap();
    assert_eq!(done, json!(true), "select {name}: {done}");
}

/// Waits until the page shows `text`, for up to `rounds` times the browser's wait.
async fn wait_long(b: &Browser, text: &str, rounds: u32) {
    for _ in 0..rounds {
        if b.wait_until_js("return document.body && document.body.innerText.includes(arguments[0])", vec![json!(text)]).await {
            return;
        }
    }
    panic!("the page never showed {text:?}; it shows:\n{}", b.text().await);
}

/// Waits until a cell of the live history table reads `text` exactly (an HTTP status, a status).
async fn wait_for_cell(b: &Browser, text: &str, rounds: u32) {
    const CELL: &str = "return [...document.querySelectorAll('#history td, #history td .badge')].some(td => td.innerText.trim() === arguments[0]);";
    for _ in 0..rounds {
        if b.wait_until_js(CELL, vec![json!(text)]).await {
            return;
        }
    }
    panic!("the history never showed a cell {text:?}; the page shows:\n{}", b.text().await);
}

/// Opens the newest execution in the job page's history.
async fn open_latest_run(b: &Browser) {
    b.wait_for(Locator::Css("#history a[href^='/app/executions/']")).await.click().await.unwrap();
    b.wait_for_text("Request sent").await;
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_dashboard_through_the_ui_in_a_real_browser(pool: PgPool) {
    let receiver = Receiver::answering(&[202]).await;
    let flaky = Receiver::answering(&[500, 200]).await;
    // the every-5-minutes job may come due during the test: it calls a receiver of its own
    let every5 = Receiver::start().await;
    let (base, dispatcher) = stack(&pool).await;
    let b = Browser::start().await;

    // sign in; the start page says what to do first
    b.goto(&format!("{base}/app/login")).await;
    b.fill("email", "ada@example.com").await;
    b.fill("password", PASSWORD).await;
    b.click_button("Sign in").await;
    b.wait_for_text("No jobs yet").await;
    visit(&b, "01-home-empty").await;

    // a job from the "every 5 minutes" preset in Europe/Oslo: the preview follows the form
    b.click_link("Create your first job").await;
    b.wait_for_text("Next runs").await;
    b.fill("name", "Sync every 5").await;
    b.fill("url", &format!("{}/sync", every5.base)).await;
    choose(&b, "kind", "minutes").await;
    b.fill("every", "5").await;
    choose(&b, "timezone", "Europe/Oslo").await;
    // the preview (already there for the default preset, in UTC) follows the zone by itself
    let in_oslo = "const p = document.getElementById('preview'); return !!p && p.innerText.includes('Europe/Oslo') && p.innerText.includes('*/5 * * * *');";
    assert!(b.wait_until_js(in_oslo, vec![]).await, "the preview never followed the form: {}", b.text().await);
    let preview = b.wait_for(Locator::Css("[data-testid=next-runs]")).await.text().await.unwrap();
    assert_eq!(preview.lines().count(), 5, "five next runs: {preview}");
    assert!(preview.contains("CET") || preview.contains("CEST"), "shown in Oslo time: {preview}");
    visit(&b, "02-new-job-preview").await;
    b.click_button("Create job").await;
    b.wait_for_text("The job is saved").await;
    b.wait_for_text("Europe/Oslo").await;
    visit(&b, "03-job").await;

    // a one-time job due in a few seconds, aimed at the receiver: its run appears by itself
    b.goto(&format!("{base}/app/jobs/new")).await;
    b.fill("name", "Once soon").await;
    b.fill("url", &format!("{}/once", receiver.base)).await;
    choose(&b, "kind", "once").await;
    let at = (Utc::now() + chrono::Duration::seconds(4)).format("%Y-%m-%dT%H:%M:%S").to_string();
    b.client.execute("document.getElementsByName('at')[0].value = arguments[0]", vec![json!(at)]).await.unwrap();
    b.click_button("Create job").await;
    b.wait_for_text("The job is saved").await;
    b.wait_for_text("No runs yet").await;
    wait_for_cell(&b, "202", 3).await;
    let seen = Utc::now();
    let got = receiver.next().await;
    assert_eq!(got.path, "/once");
    let recorded: chrono::DateTime<Utc> = sqlx::query_scalar("SELECT finished_at FROM executions WHERE url LIKE '%/once'").fetch_one(&pool).await.unwrap();
    let lag = seen - recorded;
    println!("the run showed {} ms after it was recorded", lag.num_milliseconds());
    assert!(lag <= chrono::Duration::seconds(2), "shown {lag} after it was recorded; the issue asks for 2 s (the page polls every second)");
    wait_for_cell(&b, "success", 1).await;
    visit(&b, "04-once-ran-live").await;
    open_latest_run(&b).await;
    let page = b.text().await;
    assert!(page.contains(&format!("POST {}/once", receiver.base)) && page.contains("HTTP 202") && page.contains("received"), "request and response: {page}");
    visit(&b, "05-execution").await;

    // a failing job: run it now, see the 500, redeliver it (the receiver answers 200 this time)
    b.goto(&format!("{base}/app/jobs/new")).await;
    b.fill("name", "Flaky hook").await;
    b.fill("url", &format!("{}/flaky", flaky.base)).await;
    choose(&b, "kind", "daily").await;
    b.click_button("Create job").await;
    b.wait_for_text("The job is saved").await;
    b.click_button("Run now").await;
    b.wait_for_text("A run is on its way").await;
    wait_for_cell(&b, "500", 2).await;
    wait_for_cell(&b, "failed", 1).await;
    visit(&b, "06-failed-run").await;
    open_latest_run(&b).await;
    assert!(b.text().await.contains("HTTP 500"), "{}", b.text().await);
    b.click_button("Redeliver").await;
    b.wait_for_text("redelivery of an earlier execution").await;
    // still running when the page was drawn, it refreshes until the answer is in
    wait_long(&b, "HTTP 200", 2).await;
    assert!(b.text().await.contains("redelivery"), "{}", b.text().await);
    visit(&b, "07-redelivered").await;
    assert_eq!(flaky.next().await.path, "/flaky");
    assert_eq!(flaky.next().await.path, "/flaky", "delivered again");

    // the organization's history shows both failures and successes; filter the failures
    b.click_link("History").await;
    b.wait_for_text("Flaky hook").await;
    choose(&b, "status", "failed,timeout").await;
    b.click_button("Filter").await;
    // the filtered page, not the one the click left ("failed" is on both)
    assert!(b.wait_until_js("return location.search.includes('status=failed') && document.readyState === 'complete'", vec![]).await, "the filter did not load: {}", b.url().await);
    b.wait_for_text("Flaky hook").await;
    assert!(!b.text().await.contains("Once soon"), "only failures: {}", b.text().await);
    visit(&b, "08-history-failures").await;

    // pause the flaky job, then delete it after the confirmation page
    b.click_link("Jobs").await;
    b.wait_for_text("Sync every 5").await;
    visit(&b, "09-jobs").await;
    b.click_link("Flaky hook").await;
    b.click_button("Pause").await;
    b.wait_for_text("Paused: no new runs").await;
    b.click_link("Delete").await;
    b.wait_for_text("Delete the job?").await;
    visit(&b, "10-delete-confirm").await;
    b.click_button("Delete the job").await;
    b.wait_for_text("The job is deleted").await;
    assert!(!b.text().await.contains("Flaky hook"), "{}", b.text().await);

    // a monitor expecting a ping every minute; then the dispatcher's clock moves an hour on (a
    // new dispatcher with its time shifted takes over): the page shows it down by itself
    b.click_link("Monitors").await;
    b.wait_for_text("No monitors yet").await;
    visit(&b, "11-monitors-empty").await;
    b.click_link("Create one").await;
    b.wait_for_text("Pings arrive").await;
    b.fill("name", "minutely heartbeat").await;
    b.fill("every_minutes", "1").await;
    b.fill("grace_minutes", "0").await;
    visit(&b, "12-new-monitor").await;
    b.click_button("Create monitor").await;
    b.wait_for_text("minutely heartbeat").await;
    assert!(b.text().await.contains("/ping/"), "the ping URL is shown: {}", b.text().await);
    // the copy button puts the ping URL on the clipboard and says so
    let ping_url = b.client.execute("return document.querySelector('[data-testid=ping-url]').innerText", vec![]).await.unwrap();
    b.grant("clipboard-read").await;
    b.click_button("Copy the ping URL").await;
    assert!(b.wait_until_js("return [...document.querySelectorAll('button.copy')].some(x => x.firstChild.nodeValue === 'Copied')", vec![]).await, "the copy button never said Copied: {}", b.text().await);
    let clipboard = b.client.execute_async("const done = arguments[arguments.length - 1]; navigator.clipboard.readText().then(done, e => done('unreadable: ' + e));", vec![]).await.unwrap();
    assert_eq!(clipboard, ping_url, "the clipboard holds the ping URL");
    let down = "return [...document.querySelectorAll('#monitors .badge')].some(e => e.innerText.trim() === 'down');";
    assert_eq!(b.client.execute(down, vec![]).await.unwrap(), json!(false), "not down before its minute has passed");
    dispatcher.shutdown().await;
    let dispatcher = shifted_dispatcher(&pool, chrono::Duration::hours(1)).await;
    let mut seen = false;
    for _ in 0..3 {
        seen = seen || b.wait_until_js(down, vec![]).await;
    }
    assert!(seen, "the monitor never showed down: {}", b.text().await);
    visit(&b, "13-monitor-down").await;
    // an alert channel (admins only), listed with its events
    b.click_link("Alerts").await;
    b.wait_for_text("No channels yet").await;
    b.fill("target", "oncall@example.com").await;
    b.click_button("Add channel").await;
    b.wait_for_text("Added oncall@example.com").await;
    visit(&b, "13b-alert-channels").await;
    b.click_link("Edit").await;
    b.wait_for_text("Edit alert channel").await;
    b.fill("name", "On-call").await;
    visit(&b, "13c-alert-channel-edit").await;
    b.click_button("Save channel").await;
    b.wait_for_text("Saved oncall@example.com").await;
    assert!(b.text().await.contains("On-call"), "{}", b.text().await);
    // pages with wide tables: members, API keys, the audit log
    b.click_link("Members").await;
    b.wait_for_text("Invite someone").await;
    visit(&b, "13d-members").await;
    b.click_link("Audit log").await;
    b.wait_for_text("Audit log").await;
    visit(&b, "13e-audit").await;
    b.click_link("Home").await;
    b.wait_for_text("Runs per hour").await;
    let counted = b.client.execute("return document.querySelector('[data-testid=monitors-down]').innerText.trim()", vec![]).await.unwrap();
    assert_eq!(counted, json!("1"), "the start page counts it");
    visit(&b, "14-home").await;

    b.close().await;
    dispatcher.shutdown().await;
}
