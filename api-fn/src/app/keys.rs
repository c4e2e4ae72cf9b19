//! API keys, signing secrets and the audit log, for the organization's admins: make a key (its
//! token shown once), revoke or rotate one, reveal or rotate the webhook signing secrets, and
//! read who changed what.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use domain::api_key::KeyName;
use domain::audit::Actor;
use domain::lifetimes::ROTATION_OVERLAP_DEFAULT_SECS;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::AppForm;
use super::orgs::CsrfOnly;
use super::{AppError, Frame, Member, csrf_field, notice, page, respond, see_other};
use crate::AppState;
use crate::credentials::{self, CredentialError};
use crate::v1::extract::ApiPath;

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    pub csrf: String,
    pub name: String,
}

impl From<CredentialError> for AppError {
    fn from(e: CredentialError) -> Self {
        match e {
            CredentialError::KeyLimit => AppError::BadRequest(e.to_string()),
            CredentialError::NoSuchKey => AppError::NotFound,
            CredentialError::Store(e) => AppError::from(e),
        }
    }
}

async fn render(state: &AppState, m: &Member, error: Option<String>) -> Result<Response, AppError> {
    let keys = store::api_keys::list(&state.pool, m.org.id).await?;
    let secrets = store::signing_secrets::list_active(&state.pool, m.org.id, Utc::now()).await?;
    let now = Utc::now();
    let body = html! {
        @if let Some(e) = &error { (notice("error", html! { (e) })) }
        p { "API keys authenticate " code { "Authorization: Bearer pk_live_….sk_live_…" } " requests to " a href="/docs/api" { "the API" } ". A key's secret is shown once, when it is made." }
        form.row method="post" action="/app/keys" {
            (csrf_field(&m.visitor.csrf))
            label { "Name of the new key" input type="text" name="name" required maxlength="100" placeholder="CI"; }
            button.button type="submit" { "Create key" }
        }
        @if keys.is_empty() { p.muted { "No API keys yet." } } @else {
        div.scroll tabindex="0" role="region" aria-label="API keys" { table {
            caption.visually-hidden { "API keys" }
            thead { tr { th scope="col" { "Name" } th scope="col" { "Key" } th scope="col" { "Created" } th scope="col" { "Last used" } th scope="col" { "State" } th scope="col" { "Actions" } } }
            tbody {
                @for k in &keys {
                    tr {
                        td { (k.name) }
                        td { code { "pk_live_" (k.public_id) } }
                        td { (k.created_at.format("%Y-%m-%d")) }
                        td { @match k.last_used_at { Some(t) => (t.format("%Y-%m-%d %H:%M")), None => "never" } }
                        td { @if !k.is_active(now) { "revoked" } @else if let Some(until) = k.revoked_at { "rotated; works until " (until.format("%Y-%m-%d %H:%M UTC")) } @else { "active" } }
                        td {
                            @if k.is_active(now) {
                                form method="post" action={ "/app/keys/" (k.id) "/rotate" } {
                                    (csrf_field(&m.visitor.csrf))
                                    button.button.small type="submit" aria-label={ "Rotate " (k.name) } { "Rotate" }
                                }
                                " "
                                form method="post" action={ "/app/keys/" (k.id) "/revoke" } {
                                    (csrf_field(&m.visitor.csrf))
                                    button.button.small.danger type="submit" aria-label={ "Revoke " (k.name) } { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        } }
        }
        h2 { "Webhook signing secrets" }
        p { "Every call Prikke makes is signed with these (" a href="/docs/webhooks" { "how to verify" } "). While more than one is listed, each signs every call." }
        ul { @for s in &secrets { li { "Made " (s.created_at.format("%Y-%m-%d %H:%M UTC")) @if let Some(e) = s.expires_at { ", signs until " (e.format("%Y-%m-%d %H:%M UTC")) } } } }
        form.inline method="post" action="/app/secrets/reveal" { (csrf_field(&m.visitor.csrf)) button.button type="submit" { "Reveal" } }
        " "
        form.inline method="post" action="/app/secrets/rotate" { (csrf_field(&m.visitor.csrf)) button.button.danger type="submit" { "Rotate (the old one signs 24 h more)" } }
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(respond(&m.visitor, status, page(&Frame::of(m, "keys"), "API keys", body)))
}

pub async fn page_handler(State(state): State<AppState>, m: Member) -> Result<Response, AppError> {
    m.require_admin()?;
    render(&state, &m, None).await
}

fn shown_once(m: &Member, title: &str, lead: Markup, secret: &str) -> Response {
    let body = html! {
        (notice("warn", html! { "Copy it now: it is shown only this once." }))
        p { (lead) }
        code.secret data-testid="secret" { (secret) }
        p { a href="/app/keys" { "Back to API keys" } }
    };
    respond(&m.visitor, StatusCode::OK, page(&Frame::of(m, "keys"), title, body))
}

pub async fn create(State(state): State<AppState>, m: Member, AppForm(f): AppForm<KeyForm>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    m.require_admin()?;
    let name = match KeyName::parse(&f.name) {
        Ok(n) => n,
        Err(e) => return render(&state, &m, Some(format!("Name: {e}."))).await,
    };
    let mut tx = state.pool.begin().await?;
    let new = match credentials::create_key(&mut tx, m.org.id, Actor::User(m.user.id), &name).await {
        Ok(n) => n,
        Err(CredentialError::KeyLimit) => return render(&state, &m, Some(CredentialError::KeyLimit.to_string())).await,
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    Ok(shown_once(&m, "Your new API key", html! { "The key " strong { (new.record.name) } ":" }, &new.token))
}

pub async fn revoke(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    m.require_admin()?;
    let mut tx = state.pool.begin().await?;
    credentials::revoke_key(&mut tx, m.org.id, Actor::User(m.user.id), id).await?;
    tx.commit().await?;
    Ok(see_other("/app/keys"))
}

pub async fn rotate(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    m.require_admin()?;
    let mut tx = state.pool.begin().await?;
    let (new, old_until) = credentials::rotate_key(&mut tx, m.org.id, Actor::User(m.user.id), id, ROTATION_OVERLAP_DEFAULT_SECS).await?;
    tx.commit().await?;
    let lead = html! { "The new key " strong { (new.record.name) } ". The old one keeps working until " (old_until.format("%Y-%m-%d %H:%M UTC")) "." };
    Ok(shown_once(&m, "Key rotated", lead, &new.token))
}

pub async fn reveal_secrets(State(state): State<AppState>, m: Member, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    m.require_admin()?;
    let key = state.keyring.org_key(&state.pool, m.org.id).await?;
    let secrets = store::signing_secrets::active(&state.pool, m.org.id, &key, Utc::now()).await?;
    let body = html! {
        p { "Newest first. Verify the " code { "webhook-signature" } " header against any of them." }
        @for s in &secrets { code.secret { (s) } }
        p { a href="/app/keys" { "Back to API keys" } }
    };
    Ok(respond(&m.visitor, StatusCode::OK, page(&Frame::of(&m, "keys"), "Signing secrets", body)))
}

pub async fn rotate_secret(State(state): State<AppState>, m: Member, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    m.require_admin()?;
    let key = state.keyring.org_key(&state.pool, m.org.id).await?;
    let mut tx = state.pool.begin().await?;
    let (_, secret, until) = credentials::rotate_signing_secret(&mut tx, m.org.id, &key, Actor::User(m.user.id), ROTATION_OVERLAP_DEFAULT_SECS).await?;
    tx.commit().await?;
    let lead = html! { "Calls are signed with it from now on, and with the previous one(s) until " (until.format("%Y-%m-%d %H:%M UTC")) "." };
    Ok(shown_once(&m, "New signing secret", lead, &secret))
}

/// Who changed the organization's credentials, members and plan, newest first.
pub async fn audit(State(state): State<AppState>, m: Member) -> Result<Response, AppError> {
    m.require_admin()?;
    let entries = store::audit::list(&state.pool, m.org.id, None, 200).await?;
    let members = store::users::members(&state.pool, m.org.id).await?;
    let who = |a: &Actor| match a {
        Actor::User(id) => members.iter().find(|x| x.user.id == *id).map_or_else(|| format!("user {id}"), |x| x.user.email.clone()),
        Actor::ApiKey(id) => format!("API key {id}"),
        Actor::System => "Prikke".to_owned(),
    };
    let body = html! {
        form.row method="post" action="/app/export" {
            (csrf_field(&m.visitor.csrf))
            button.button type="submit" { "Download all of the organization's data" }
            span.hint { "NDJSON, as " code { "GET /api/v1/export" } " gives it; secrets are left out. Recorded here." }
        }
        @if entries.is_empty() { p { "Nothing yet." } } @else {
            div.scroll tabindex="0" role="region" aria-label="Audit log" { table {
                caption.visually-hidden { "Audit log" }
                thead { tr { th scope="col" { "When (UTC)" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Details" } } }
                tbody {
                    @for e in &entries {
                        tr {
                            td { (e.created_at.format("%Y-%m-%d %H:%M:%S")) }
                            td { (who(&e.actor)) }
                            td { (e.action) }
                            td { code { (e.details) } }
                        }
                    }
                }
            } }
        }
    };
    Ok(respond(&m.visitor, StatusCode::OK, page(&Frame::of(&m, "audit"), "Audit log", body)))
}

/// `POST /app/export`: everything the organization owns as NDJSON, for its admins and owners (the
/// same stream as `GET /api/v1/export`, recorded as the member's export). A form, not a link: it
/// writes the audit log, so another site cannot make a signed-in browser do it.
pub async fn export(State(state): State<AppState>, m: Member, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    m.require_admin()?;
    Ok(crate::v1::export::start(state, m.org.id, Actor::User(m.user.id)).await?)
}
