//! The web app under `/app` (the edge forwards it here): server-rendered pages (maud, escaped by
//! construction), one stylesheet shared with the edge's pages, forms that work without
//! JavaScript. Modules: `session` (cookies, the signed-in member, form tokens), `password`
//! (argon2id), `mail` (the account e-mails, written to the outbox), `auth` (sign-up, sign-in,
//! links, sign-out), `orgs` (start page, organizations), `members` (members and invitations),
//! `keys` (API keys, signing secrets, audit log), `unsubscribe` (alert e-mails' one-click link),
//! and the dashboard: `dashboard` (the start page: counts, chart, failures, usage), `jobs` (list,
//! detail, actions), `job_form` (create, duplicate and edit, schedule presets, preview), `history`
//! (executions across the organization, one execution, redelivery), `monitors`, `channels`
//! (alert channels, for admins), `display`
//! (how times, statuses and requests are shown). Pages that show status refresh a fragment
//! with `app.js` (no other script; every form works without it).
//! Every page checks the member's role; another organization's ids answer 404.

pub mod auth;
pub mod channels;
pub mod dashboard;
pub mod display;
pub mod erasure;
pub mod history;
pub mod job_form;
pub mod jobs;
pub mod keys;
pub mod mail;
pub mod members;
pub mod monitors;
pub mod orgs;
pub mod password;
pub mod session;
pub mod unsubscribe;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, PreEscaped, html};

pub use session::{Member, Visitor};
pub use unsubscribe::{unsubscribe, unsubscribe_page};

use crate::AppState;

/// The stylesheet: the edge's (the same look as the landing page) and the app's own rules.
const CSS: &str = concat!(include_str!("../../../edge/content/site.css"), include_str!("app.css"));

/// The one script: refreshes `[data-refresh]` fragments and the job form's preview.
const JS: &str = include_str!("app.js");

/// Adds the app's routes.
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/app", get(dashboard::home))
        .route("/app/", get(dashboard::home))
        .route("/app/static/app.css", get(stylesheet))
        .route("/app/static/app.js", get(script))
        .route("/app/jobs", get(jobs::list))
        .route("/app/jobs/new", get(job_form::new_page).post(job_form::create))
        .route("/app/jobs/preview", get(job_form::preview_fragment))
        .route("/app/jobs/{id}", get(jobs::detail))
        .route("/app/jobs/{id}/edit", get(job_form::edit_page).post(job_form::edit))
        .route("/app/jobs/{id}/history", get(jobs::history_fragment))
        .route("/app/jobs/{id}/trigger", post(jobs::trigger))
        .route("/app/jobs/{id}/pause", post(jobs::pause))
        .route("/app/jobs/{id}/resume", post(jobs::resume))
        .route("/app/jobs/{id}/delete", get(jobs::delete_page).post(jobs::delete))
        .route("/app/jobs/{id}/redeliver-failed", post(jobs::redeliver_failed))
        .route("/app/executions", get(history::list))
        .route("/app/executions/rows", get(history::rows_fragment))
        .route("/app/executions/{id}", get(history::detail))
        .route("/app/executions/{id}/redeliver", post(history::redeliver))
        .route("/app/channels", get(channels::list).post(channels::create))
        .route("/app/channels/{id}/test", post(channels::test))
        .route("/app/channels/{id}/delete", post(channels::delete))
        .route("/app/channels/{id}/edit", get(channels::edit_page).post(channels::edit))
        .route("/app/jobs/{id}/mute", post(jobs::set_mute))
        .route("/app/jobs/{id}/alerts", post(jobs::set_alerts))
        .route("/app/monitors", get(monitors::list))
        .route("/app/monitors/new", get(monitors::new_page).post(monitors::create))
        .route("/app/monitors/{id}", get(monitors::detail))
        .route("/app/monitors/{id}/edit", get(monitors::edit_page).post(monitors::edit))
        .route("/app/monitors/{id}/delete", post(monitors::delete))
        .route("/app/welcome", get(orgs::welcome))
        .route("/app/signup", get(auth::signup_page).post(auth::signup))
        .route("/app/login", get(auth::login_page).post(auth::login))
        .route("/app/logout", post(auth::logout))
        .route("/app/confirm/{token}", get(auth::confirm_page).post(auth::confirm))
        .route("/app/magic", get(auth::magic_page).post(auth::magic_request))
        .route("/app/magic/{token}", get(auth::magic_link_page).post(auth::magic_link))
        .route("/app/reset", get(auth::reset_page).post(auth::reset_request))
        .route("/app/reset/{token}", get(auth::reset_link_page).post(auth::reset_link))
        .route("/app/orgs", post(orgs::create))
        .route("/app/orgs/{id}/switch", post(orgs::switch))
        .route("/app/settings", get(orgs::settings_page).post(orgs::rename))
        .route("/app/settings/delete", post(erasure::delete_org))
        .route("/app/settings/restore", post(erasure::restore_org))
        .route("/app/account/delete", post(erasure::delete_account))
        .route("/app/members", get(members::list))
        .route("/app/members/invite", post(members::invite))
        .route("/app/members/{user_id}/role", post(members::change_role))
        .route("/app/members/{user_id}/remove", post(members::remove))
        .route("/app/members/leave", post(members::leave))
        .route("/app/invites/{id}/revoke", post(members::revoke_invite))
        .route("/app/invite/{token}", get(members::invite_page))
        .route("/app/invite/{token}/accept", post(members::accept))
        .route("/app/invite/{token}/decline", post(members::decline))
        .route("/app/keys", get(keys::page_handler).post(keys::create))
        .route("/app/keys/{id}/revoke", post(keys::revoke))
        .route("/app/keys/{id}/rotate", post(keys::rotate))
        .route("/app/secrets/reveal", post(keys::reveal_secrets))
        .route("/app/secrets/rotate", post(keys::rotate_secret))
        .route("/app/audit", get(keys::audit))
        .route("/app/export", post(keys::export))
        .route("/app/unsubscribe/{token}", get(unsubscribe_page).post(unsubscribe))
        .route("/app/{*rest}", axum::routing::any(|| async { AppError::NotFound }))
}

async fn stylesheet() -> Response {
    let mut res = CSS.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    res
}

async fn script() -> Response {
    let mut res = JS.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    res
}

/// What the page frame shows around a page: who is signed in, where, and the form token.
pub struct Frame<'a> {
    pub member: Option<&'a Member>,
    /// Signed in (with or without an organization): the nav offers to sign out.
    pub signed_in: bool,
    pub csrf: &'a str,
    /// The nav entry of this page (`aria-current`).
    pub current: &'static str,
}

impl<'a> Frame<'a> {
    pub fn of(member: &'a Member, current: &'static str) -> Self {
        Frame { member: Some(member), signed_in: true, csrf: &member.visitor.csrf, current }
    }

    pub fn public(visitor: &'a Visitor) -> Self {
        Frame { member: None, signed_in: visitor.signed_in.is_some(), csrf: &visitor.csrf, current: "" }
    }
}

/// The hidden field every form carries.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A whole page.
pub fn page(frame: &Frame<'_>, title: &str, body: Markup) -> Markup {
    let link = |href: &str, label: &str, key: &str| {
        html! { a href=(href) aria-current=[(frame.current == key).then_some("page")] { (label) } }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Prikke" }
                link rel="stylesheet" href="/app/static/app.css";
                script src="/app/static/app.js" defer {}
            }
            body {
                header.site {
                    div.wrap {
                        a.logo href="/app" { "Prikke" b { "." } }
                        nav.app aria-label="Main" {
                            @if let Some(m) = frame.member {
                                (link("/app", "Home", "home"))
                                (link("/app/jobs", "Jobs", "jobs"))
                                (link("/app/executions", "History", "executions"))
                                (link("/app/monitors", "Monitors", "monitors"))
                                @if m.role.can_administer() { (link("/app/channels", "Alerts", "channels")) }
                                @if m.role.can_administer() { (link("/app/keys", "API keys", "keys")) }
                                (link("/app/members", "Members", "members"))
                                @if m.role.can_administer() { (link("/app/audit", "Audit log", "audit")) }
                                (link("/app/settings", "Settings", "settings"))
                                form.inline method="post" action="/app/logout" {
                                    (csrf_field(frame.csrf))
                                    button.linklike type="submit" { "Sign out" }
                                }
                            } @else if frame.signed_in {
                                form.inline method="post" action="/app/logout" {
                                    (csrf_field(frame.csrf))
                                    button.linklike type="submit" { "Sign out" }
                                }
                            } @else {
                                (link("/app/login", "Sign in", "login"))
                                (link("/app/signup", "Sign up", "signup"))
                            }
                        }
                    }
                }
                @if let Some(m) = frame.member {
                    div.orgbar {
                        div.wrap {
                            span { "Organization: " strong { (m.org.name) } " (" (m.role) ", " (m.org.tier.display_name()) " plan)" }
                            @if m.orgs.len() > 1 {
                                details.switch {
                                    summary { "Switch" }
                                    ul {
                                        @for (o, _) in &m.orgs {
                                            @if o.id != m.org.id {
                                                li {
                                                    form.inline method="post" action={ "/app/orgs/" (o.id) "/switch" } {
                                                        (csrf_field(frame.csrf))
                                                        button.linklike type="submit" { (o.name) }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                main.wrap.app { h1 { (title) } (body) }
                footer.site { div.wrap { "Prikke · Hosted in the EU · " a href="/docs" { "Docs" } " · " a href="/status" { "Status" } } }
            }
        }
    }
}

/// A notice box (`kind`: "" for good news, "error", "warn").
pub fn notice(kind: &str, text: Markup) -> Markup {
    html! { div class={ "notice " (kind) } role=[(kind == "error").then_some("alert")] { (text) } }
}

/// Percent-encodes `s` for a query value.
pub fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where to go after signing in: `next` when it is a page of the app, else the start page.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/app") && !n.starts_with("//") && !n.contains("://") && !n.contains('\\') => n.to_owned(),
        _ => "/app".to_owned(),
    }
}

/// What can go wrong on a page, each with the page it shows.
#[derive(Debug)]
pub enum AppError {
    NotFound,
    Forbidden(String),
    BadRequest(String),
    TooManyRequests,
    Internal,
}

impl From<store::StoreError> for AppError {
    fn from(e: store::StoreError) -> Self {
        tracing::error!(error = %e, "a page failed on the database");
        AppError::Internal
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::from(store::StoreError::from(e))
    }
}

/// The API's rules answer with problems; a page shows the same words.
impl From<crate::problem::Problem> for AppError {
    fn from(p: crate::problem::Problem) -> Self {
        match p.status {
            404 => AppError::NotFound,
            403 => AppError::Forbidden(p.detail),
            400..=499 => AppError::BadRequest(p.detail),
            _ => AppError::Internal,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, text) = match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "Not found", "There is nothing here, or it belongs to another organization.".to_owned()),
            AppError::Forbidden(t) => (StatusCode::FORBIDDEN, "Not allowed", t),
            AppError::BadRequest(t) => (StatusCode::BAD_REQUEST, "That did not work", t),
            AppError::TooManyRequests => (StatusCode::TOO_MANY_REQUESTS, "Too many attempts", "Too many attempts from here or for this account. Wait a minute and try again.".to_owned()),
            AppError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "Something went wrong on our side; it has been logged. Try again in a moment.".to_owned()),
        };
        let frame = Frame { member: None, signed_in: false, csrf: "", current: "" };
        let body = html! { (notice("error", html! { (text) })) p { a href="/app" { "Back to the start page" } } };
        let mut res = (status, axum::response::Html(page(&frame, title, body).into_string())).into_response();
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

/// A fragment of a page (refreshed by `app.js`), never cached.
pub fn fragment(markup: Markup) -> Response {
    let mut res = axum::response::Html(markup.into_string()).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A page response (never cached: pages show private data and carry form tokens).
pub fn respond(visitor: &Visitor, status: StatusCode, markup: Markup) -> Response {
    let mut res = (status, axum::response::Html(markup.into_string())).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    visitor.finish(res)
}

/// A redirect after a form (303: the browser follows with GET).
pub fn see_other(to: &str) -> Response {
    axum::response::Redirect::to(to).into_response()
}

/// Text shown verbatim inside markup.
pub fn raw(s: &'static str) -> PreEscaped<&'static str> {
    PreEscaped(s)
}
