//! Sign-up, sign-in and sign-out, and the e-mailed links: confirmation (at sign-up), magic link
//! (sign in without a password) and password reset. Links are single-use, work for 15 minutes and
//! only their hash is stored; opening one shows a button (mail scanners open links; only a
//! person presses buttons). Answers never say whether an address has an account. Sign-in and the
//! link requests are throttled per client IP and per address (`PRIKKE_LOGIN_RATE_PER_MINUTE`).
//! Signing in makes a new session (a cookie from before is dropped); signing out and setting a
//! password end sessions.

use axum::extract::{FromRequest, Query, Request, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::Response;
use chrono::Utc;
use domain::account::{EMAIL_LINK_LIFETIME, LinkPurpose, MailKind, SESSION_IDLE_LIFETIME, check_password, new_token, token_hash};
use domain::audit::{Actor, AuditAction};
use domain::email::EmailAddress;
use maud::{Markup, html};
use serde::Deserialize;
use store::users::User;

use super::session::{SESSION_COOKIE, Visitor};
use super::{AppError, Frame, csrf_field, mail, notice, page, password, respond, safe_next, url_escape};
use crate::AppState;
use crate::v1::extract::ApiPath;

/// A form body; a malformed one is a 400 page.
pub struct AppForm<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for AppForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|f| AppForm(f.0))
            .map_err(|e| AppError::BadRequest(format!("The form could not be read ({}). Go back and try again.", e.body_text())))
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
    /// A notice to show (`signed_out`, `password_set`).
    pub done: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    pub csrf: String,
    pub email: String,
    pub password: String,
    pub next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct EmailForm {
    pub csrf: String,
    pub email: String,
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
    pub next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NewPassword {
    pub csrf: String,
    pub password: String,
}

/// Counts an attempt against `bucket`; refused past the configured rate.
pub async fn throttle(state: &AppState, bucket: &str) -> Result<(), AppError> {
    state.limiter.check(&state.pool, bucket, state.config.login_rate_per_minute, Utc::now()).await.map_err(|_| AppError::TooManyRequests)
}

async fn throttle_ip(state: &AppState, visitor: &Visitor, what: &str) -> Result<(), AppError> {
    let ip = visitor.ip.map(|i| i.to_string()).unwrap_or_else(|| "unknown".into());
    throttle(state, &format!("{what}-ip:{ip}")).await
}

async fn throttle_address(state: &AppState, what: &str, email: &str) -> Result<(), AppError> {
    throttle(state, &format!("{what}-account:{}", email.to_lowercase())).await
}

/// Makes a link for `purpose` to `email` and returns its URL.
async fn issue_link(state: &AppState, tx: &mut sqlx::PgConnection, purpose: LinkPurpose, email: &str, user: Option<&User>, path: &str) -> Result<String, AppError> {
    let token = new_token(rand::random());
    store::email_tokens::issue(&mut *tx, &token_hash(&token), purpose, email, user.map(|u| u.id), Utc::now() + EMAIL_LINK_LIFETIME).await?;
    Ok(format!("{}/app/{path}/{token}", state.config.public_url))
}

/// Starts a session for `user` (dropping the visitor's old one), records the sign-in, audits a
/// sign-in from a new browser, and sends the browser to `next`.
pub async fn sign_in(state: &AppState, visitor: &Visitor, user: &User, next: &str) -> Result<Response, AppError> {
    let now = Utc::now();
    let token = new_token(rand::random());
    let csrf: [u8; 32] = rand::random();
    let client = visitor.client_hash();
    let mut tx = state.pool.begin().await?;
    if let Some(old) = &visitor.signed_in {
        store::sessions::delete(&mut *tx, old.session.id).await?;
    }
    let orgs = store::organizations::for_user(&mut *tx, user.id).await?;
    if !store::sessions::known_client(&mut *tx, user.id, &client).await? {
        let agent = visitor.user_agent.clone().unwrap_or_else(|| "unknown".into());
        for (org, _) in &orgs {
            let details = serde_json::json!({"user_agent": agent.chars().take(200).collect::<String>(), "ip": visitor.ip.map(|i| i.to_string())});
            store::audit::record(&mut *tx, org.id, Actor::User(user.id), AuditAction::LoginNewClient, Some(("user", &user.id.to_string())), details).await?;
        }
    }
    let current = orgs.first().map(|(o, _)| o.id);
    store::sessions::create(&mut *tx, &token_hash(&token), user.id, current, &csrf, visitor.user_agent.as_deref(), &client, now + SESSION_IDLE_LIFETIME).await?;
    store::users::signed_in(&mut *tx, user.id, now).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "signed in");
    let mut res = super::see_other(next);
    res.headers_mut().append(SET_COOKIE, visitor.cookie_header(SESSION_COOKIE, &token, SESSION_IDLE_LIFETIME.num_seconds()));
    Ok(res)
}

fn hidden_next(next: Option<&str>) -> Markup {
    html! { @if let Some(n) = next { input type="hidden" name="next" value=(safe_next(Some(n))); } }
}

fn signup_form(v: &Visitor, email: &str, next: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { (notice("error", html! { (e) })) }
        form.stack method="post" action="/app/signup" {
            (csrf_field(&v.csrf))
            (hidden_next(next))
            label { "E-mail address" input type="email" name="email" required maxlength="254" autocomplete="email" value=(email); }
            label { "Password" span.hint { "At least 10 characters." } input type="password" name="password" required minlength="10" maxlength="256" autocomplete="new-password"; }
            button.button type="submit" { "Create account" }
        }
        p { "Already have an account? " a href={ "/app/login" @if let Some(n) = next { "?next=" (url_escape(n)) } } { "Sign in" } }
    }
}

pub async fn signup_page(v: Visitor, Query(q): Query<NextQuery>) -> Response {
    respond(&v, StatusCode::OK, page(&Frame::public(&v), "Create your account", signup_form(&v, "", q.next.as_deref(), None)))
}

pub async fn signup(State(state): State<AppState>, v: Visitor, AppForm(f): AppForm<Credentials>) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    throttle_ip(&state, &v, "signup").await?;
    let refuse = |error: String| respond(&v, StatusCode::UNPROCESSABLE_ENTITY, page(&Frame::public(&v), "Create your account", signup_form(&v, &f.email, f.next.as_deref(), Some(&error))));
    let email = match EmailAddress::parse(&f.email) {
        Ok(e) => e,
        Err(e) => return Ok(refuse(format!("E-mail address: {e}."))),
    };
    if let Err(e) = check_password(&f.password) {
        return Ok(refuse(format!("Password: {e}.")));
    }
    throttle_address(&state, "signup", email.as_str()).await?;
    let hash = password::hash(f.password.clone()).await;
    let mut tx = state.pool.begin().await?;
    match store::users::by_email(&mut *tx, email.as_str()).await? {
        // the address has an account: its owner gets a sign-in link, the visitor the same answer
        Some(user) => {
            let link = issue_link(&state, &mut tx, LinkPurpose::MagicLink, email.as_str(), Some(&user), "magic").await?;
            let lead = "Someone (probably you) tried to create a Prikke account with this address, which already has one.";
            mail::send(&mut tx, None, MailKind::MagicLink, email.as_str(), "You already have an account", lead, &link, "Sign in", "If this was not you, ignore this message; nothing changed.").await?;
        }
        None => {
            let user = store::users::insert(&mut *tx, email.as_str(), None, Some(&hash)).await?;
            let mut link = issue_link(&state, &mut tx, LinkPurpose::VerifyEmail, email.as_str(), Some(&user), "confirm").await?;
            // where the visitor was going (an invitation, say) comes along through the e-mail
            if let Some(next) = f.next.as_deref().map(|n| safe_next(Some(n))).filter(|n| n != "/app") {
                link = format!("{link}?next={}", url_escape(&next));
            }
            let lead = "Welcome to Prikke. Confirm your e-mail address to start (the link works for 15 minutes).";
            mail::send(&mut tx, None, MailKind::ConfirmEmail, email.as_str(), "Confirm your e-mail address", lead, &link, "Confirm and sign in", "If you did not sign up, ignore this message.").await?;
        }
    }
    tx.commit().await?;
    Ok(check_your_mail(&v, email.as_str()))
}

fn check_your_mail(v: &Visitor, email: &str) -> Response {
    let body = html! {
        (notice("", html! { "We sent a message to " strong { (email) } ". Open the link in it within 15 minutes." }))
        p.muted { "Nothing arrived? Check the spam folder, or " a href="/app/magic" { "ask for a sign-in link" } "." }
    };
    respond(v, StatusCode::OK, page(&Frame::public(v), "Check your e-mail", body))
}

fn link_gone(v: &Visitor) -> Response {
    let body = html! {
        (notice("error", html! { "This link has been used or has expired (links work once, for 15 minutes)." }))
        p { a href="/app/magic" { "Get a new sign-in link" } " or " a href="/app/login" { "sign in" } "." }
    };
    respond(v, StatusCode::GONE, page(&Frame::public(v), "Link expired", body))
}

/// The page behind a link: one button that uses it.
async fn link_page(state: &AppState, v: &Visitor, token: &str, purpose: LinkPurpose, title: &str, button: &str, next: Option<&str>) -> Result<Response, AppError> {
    if !store::email_tokens::usable(&state.pool, &token_hash(token), purpose, Utc::now()).await? {
        return Ok(link_gone(v));
    }
    let body = html! {
        form.stack method="post" {
            (csrf_field(&v.csrf))
            (hidden_next(next))
            button.button type="submit" { (button) }
        }
    };
    Ok(respond(v, StatusCode::OK, page(&Frame::public(v), title, body)))
}

/// Uses a link: the user it was made for, once.
async fn use_link(state: &AppState, token: &str, purpose: LinkPurpose) -> Result<Option<User>, AppError> {
    let Some((email, user_id)) = store::email_tokens::consume(&state.pool, &token_hash(token), purpose, Utc::now()).await? else {
        return Ok(None);
    };
    let user = match user_id {
        Some(id) => store::users::get(&state.pool, id).await?,
        None => store::users::by_email(&state.pool, &email).await?,
    };
    Ok(user)
}

pub async fn confirm_page(State(state): State<AppState>, v: Visitor, ApiPath(token): ApiPath<String>, Query(q): Query<NextQuery>) -> Result<Response, AppError> {
    link_page(&state, &v, &token, LinkPurpose::VerifyEmail, "Confirm your e-mail address", "Confirm and sign in", q.next.as_deref()).await
}

pub async fn confirm(State(state): State<AppState>, v: Visitor, ApiPath(token): ApiPath<String>, AppForm(f): AppForm<CsrfForm>) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    match use_link(&state, &token, LinkPurpose::VerifyEmail).await? {
        Some(user) => sign_in(&state, &v, &user, &safe_next(f.next.as_deref())).await,
        None => Ok(link_gone(&v)),
    }
}

fn login_form(v: &Visitor, email: &str, next: Option<&str>, message: Option<Markup>) -> Markup {
    html! {
        @if let Some(m) = message { (m) }
        form.stack method="post" action="/app/login" {
            (csrf_field(&v.csrf))
            (hidden_next(next))
            label { "E-mail address" input type="email" name="email" required maxlength="254" autocomplete="email" value=(email); }
            label { "Password" input type="password" name="password" required maxlength="256" autocomplete="current-password"; }
            button.button type="submit" { "Sign in" }
        }
        p { a href="/app/magic" { "E-mail me a sign-in link" } " · " a href="/app/reset" { "Forgot your password?" } " · "
            a href={ "/app/signup" @if let Some(n) = next { "?next=" (url_escape(n)) } } { "Create an account" } }
    }
}

pub async fn login_page(v: Visitor, Query(q): Query<NextQuery>) -> Response {
    let message = match q.done.as_deref() {
        Some("signed_out") => Some(notice("", html! { "You are signed out." })),
        Some("account_deleted") => Some(notice("", html! { "Your account is deleted." })),
        _ => None,
    };
    respond(&v, StatusCode::OK, page(&Frame { current: "login", ..Frame::public(&v) }, "Sign in", login_form(&v, "", q.next.as_deref(), message)))
}

pub async fn login(State(state): State<AppState>, v: Visitor, AppForm(f): AppForm<Credentials>) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    throttle_ip(&state, &v, "login").await?;
    throttle_address(&state, "login", &f.email).await?;
    let user = store::users::by_email(&state.pool, f.email.trim()).await?;
    let ok = password::verify(f.password.clone(), user.as_ref().and_then(|u| u.password_hash.clone())).await;
    let (Some(user), true) = (user, ok) else {
        let message = notice("error", html! { "Wrong e-mail address or password." });
        return Ok(respond(&v, StatusCode::UNAUTHORIZED, page(&Frame::public(&v), "Sign in", login_form(&v, &f.email, f.next.as_deref(), Some(message)))));
    };
    if user.email_verified_at.is_none() {
        let mut tx = state.pool.begin().await?;
        let link = issue_link(&state, &mut tx, LinkPurpose::VerifyEmail, &user.email, Some(&user), "confirm").await?;
        let lead = "Confirm your e-mail address to sign in to Prikke (the link works for 15 minutes).";
        mail::send(&mut tx, None, MailKind::ConfirmEmail, &user.email, "Confirm your e-mail address", lead, &link, "Confirm and sign in", "If you did not try to sign in, ignore this message.").await?;
        tx.commit().await?;
        return Ok(check_your_mail(&v, &user.email));
    }
    sign_in(&state, &v, &user, &safe_next(f.next.as_deref())).await
}

pub async fn logout(State(state): State<AppState>, v: Visitor, AppForm(f): AppForm<CsrfForm>) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    if let Some(s) = &v.signed_in {
        store::sessions::delete(&state.pool, s.session.id).await?;
        tracing::info!(user_id = %s.user.id, "signed out");
    }
    let mut res = super::see_other("/app/login?done=signed_out");
    res.headers_mut().append(SET_COOKIE, v.cookie_header(SESSION_COOKIE, "", 0));
    Ok(res)
}

fn email_only_form(v: &Visitor, action: &str, lead: &str, button: &str) -> Markup {
    html! {
        p { (lead) }
        form.stack method="post" action=(action) {
            (csrf_field(&v.csrf))
            label { "E-mail address" input type="email" name="email" required maxlength="254" autocomplete="email"; }
            button.button type="submit" { (button) }
        }
    }
}

fn sent_if_registered(v: &Visitor, email: &str) -> Response {
    let body = html! {
        (notice("", html! { "If " strong { (email) } " has an account, a link is on its way. It works once, for 15 minutes." }))
    };
    respond(v, StatusCode::OK, page(&Frame::public(v), "Check your e-mail", body))
}

pub async fn magic_page(v: Visitor) -> Response {
    let body = email_only_form(&v, "/app/magic", "We will e-mail you a link that signs you in.", "E-mail me a link");
    respond(&v, StatusCode::OK, page(&Frame::public(&v), "Sign in with a link", body))
}

/// Sends a link of `purpose` to `f.email` if it has an account; the same answer either way.
async fn request_link(state: &AppState, v: &Visitor, f: &EmailForm, purpose: LinkPurpose) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    throttle_ip(state, v, purpose.as_str()).await?;
    throttle_address(state, purpose.as_str(), &f.email).await?;
    let email = f.email.trim();
    let mut tx = state.pool.begin().await?;
    if let Some(user) = store::users::by_email(&mut *tx, email).await? {
        let (path, kind, subject, lead, action) = match purpose {
            LinkPurpose::PasswordReset => ("reset", MailKind::PasswordReset, "Set a new password", "Someone (probably you) asked to set a new Prikke password.", "Set a new password"),
            _ => ("magic", MailKind::MagicLink, "Your sign-in link", "Here is the link you asked for to sign in to Prikke.", "Sign in"),
        };
        let link = issue_link(state, &mut tx, purpose, &user.email, Some(&user), path).await?;
        mail::send(&mut tx, None, kind, &user.email, subject, lead, &link, action, "If you did not ask for this, ignore this message; nothing changed.").await?;
    }
    tx.commit().await?;
    Ok(sent_if_registered(v, email))
}

pub async fn magic_request(State(state): State<AppState>, v: Visitor, AppForm(f): AppForm<EmailForm>) -> Result<Response, AppError> {
    request_link(&state, &v, &f, LinkPurpose::MagicLink).await
}

pub async fn magic_link_page(State(state): State<AppState>, v: Visitor, ApiPath(token): ApiPath<String>, Query(q): Query<NextQuery>) -> Result<Response, AppError> {
    link_page(&state, &v, &token, LinkPurpose::MagicLink, "Sign in to Prikke", "Sign in", q.next.as_deref()).await
}

pub async fn magic_link(State(state): State<AppState>, v: Visitor, ApiPath(token): ApiPath<String>, AppForm(f): AppForm<CsrfForm>) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    match use_link(&state, &token, LinkPurpose::MagicLink).await? {
        Some(user) => sign_in(&state, &v, &user, &safe_next(f.next.as_deref())).await,
        None => Ok(link_gone(&v)),
    }
}

pub async fn reset_page(v: Visitor) -> Response {
    let body = email_only_form(&v, "/app/reset", "We will e-mail you a link to set a new password.", "E-mail me a link");
    respond(&v, StatusCode::OK, page(&Frame::public(&v), "Forgot your password?", body))
}

pub async fn reset_request(State(state): State<AppState>, v: Visitor, AppForm(f): AppForm<EmailForm>) -> Result<Response, AppError> {
    request_link(&state, &v, &f, LinkPurpose::PasswordReset).await
}

fn new_password_form(v: &Visitor, error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { (notice("error", html! { (e) })) }
        form.stack method="post" {
            (csrf_field(&v.csrf))
            label { "New password" span.hint { "At least 10 characters." } input type="password" name="password" required minlength="10" maxlength="256" autocomplete="new-password"; }
            button.button type="submit" { "Set password and sign in" }
        }
    }
}

pub async fn reset_link_page(State(state): State<AppState>, v: Visitor, ApiPath(token): ApiPath<String>) -> Result<Response, AppError> {
    if !store::email_tokens::usable(&state.pool, &token_hash(&token), LinkPurpose::PasswordReset, Utc::now()).await? {
        return Ok(link_gone(&v));
    }
    Ok(respond(&v, StatusCode::OK, page(&Frame::public(&v), "Set a new password", new_password_form(&v, None))))
}

pub async fn reset_link(State(state): State<AppState>, v: Visitor, ApiPath(token): ApiPath<String>, AppForm(f): AppForm<NewPassword>) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    if let Err(e) = check_password(&f.password) {
        let error = format!("Password: {e}.");
        return Ok(respond(&v, StatusCode::UNPROCESSABLE_ENTITY, page(&Frame::public(&v), "Set a new password", new_password_form(&v, Some(&error)))));
    }
    let Some(user) = use_link(&state, &token, LinkPurpose::PasswordReset).await? else {
        return Ok(link_gone(&v));
    };
    let hash = password::hash(f.password.clone()).await;
    let mut tx = state.pool.begin().await?;
    store::users::set_password(&mut *tx, user.id, &hash).await?;
    // every other session ends: whoever knew the old password is signed out
    let ended = store::sessions::delete_all_for_user(&mut *tx, user.id).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, sessions_ended = ended, "password set");
    let v = Visitor { signed_in: None, ..v };
    sign_in(&state, &v, &user, "/app").await
}
