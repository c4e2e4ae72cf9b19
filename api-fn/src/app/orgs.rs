//! The first organization of a new account, making and switching organizations, and the
//! organization's settings (name, plan).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::account::Role;
use domain::audit::{Actor, AuditAction};
use domain::signing::SigningSecret;
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::AppForm;
use super::session::Visitor;
use super::{AppError, Frame, Member, csrf_field, page, respond, see_other};
use crate::AppState;
use crate::v1::extract::ApiPath;

#[derive(Debug, Deserialize)]
pub struct NameForm {
    pub csrf: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    pub csrf: String,
}

fn org_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if (1..=200).contains(&name.chars().count()) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(AppError::BadRequest("An organization's name is 1 to 200 characters. Go back and try again.".into()))
    }
}

/// A slug from the name (lowercase letters, digits, dashes) with a random ending.
fn slug_for(name: &str) -> String {
    let base: String = name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let base: String = base.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-").chars().take(40).collect();
    let base = base.trim_end_matches('-');
    let suffix: String = rand::random::<[u8; 3]>().iter().map(|b| format!("{b:02x}")).collect();
    if base.is_empty() { format!("org-{suffix}") } else { format!("{base}-{suffix}") }
}

/// A signed-in user in no organization yet: make one.
pub async fn welcome(State(state): State<AppState>, v: Visitor) -> Result<Response, AppError> {
    let Some(s) = &v.signed_in else { return Ok(see_other("/app/login")) };
    if !store::organizations::for_user(&state.pool, s.user.id).await?.is_empty() {
        return Ok(see_other("/app"));
    }
    let body = html! {
        p { "Signed in as " strong { (s.user.email) } ". Name your organization (your company or team) to start; you can invite colleagues next." }
        form.stack method="post" action="/app/orgs" {
            (csrf_field(&v.csrf))
            label { "Organization name" input type="text" name="name" required maxlength="200" autocomplete="organization"; }
            button.button type="submit" { "Create organization" }
        }
    };
    Ok(respond(&v, StatusCode::OK, page(&Frame::public(&v), "Create your organization", body)))
}

/// Makes an organization with the user as its owner, on the Free plan, and works in it.
pub async fn create(State(state): State<AppState>, v: Visitor, AppForm(f): AppForm<NameForm>) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    let Some(s) = &v.signed_in else { return Ok(see_other("/app/login")) };
    let name = org_name(&f.name)?;
    let mut tx = state.pool.begin().await?;
    let org = store::organizations::insert(&mut *tx, &name, &slug_for(&name), domain::tier::Tier::Free).await?;
    store::users::upsert_membership(&mut *tx, org.id, s.user.id, Role::Owner).await?;
    let key = state.keyring.new_org_key(&mut *tx, org.id).await?;
    store::signing_secrets::insert(&mut *tx, org.id, &key, &SigningSecret::generate(rand::random::<[u8; 32]>()).to_string()).await?;
    store::audit::record(&mut *tx, org.id, Actor::User(s.user.id), AuditAction::OrganizationCreated, Some(("organization", &org.id.to_string())), serde_json::json!({"name": name})).await?;
    store::sessions::set_current_org(&mut *tx, s.session.id, Some(org.id)).await?;
    tx.commit().await?;
    tracing::info!(org_id = %org.id, user_id = %s.user.id, "organization created");
    Ok(see_other("/app"))
}

/// Works in another of the user's organizations.
pub async fn switch(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    if !m.orgs.iter().any(|(o, _)| o.id == id) {
        return Err(AppError::NotFound);
    }
    store::sessions::set_current_org(&state.pool, m.session.id, Some(id)).await?;
    Ok(see_other("/app"))
}

pub async fn settings_page(State(state): State<AppState>, m: Member) -> Result<Response, AppError> {
    let limits = m.org.tier.limits();
    let upgrade = match (&state.config.checkout_url, m.org.tier) {
        (Some(checkout), domain::tier::Tier::Free) if m.role.can_own() => Some(crate::v1::usage::checkout_link(checkout, m.org.id)),
        _ => None,
    };
    let body = html! {
        h2 { "Name" }
        @if m.role.can_administer() {
            form.row method="post" action="/app/settings" {
                (csrf_field(&m.visitor.csrf))
                label { "Organization name" input type="text" name="name" required maxlength="200" value=(m.org.name); }
                button.button type="submit" { "Rename" }
            }
        } @else { p { (m.org.name) } }
        h2 { "Plan" }
        p { "The " strong { (m.org.tier.display_name()) } " plan: "
            @match limits.max_jobs { Some(n) => { (n) " jobs" }, None => "unlimited jobs" } ", "
            (limits.monthly_executions) " executions a month, schedules every " (limits.min_interval_minutes) " minute(s) at most, "
            (limits.history_days) " days of history." }
        @if let Some(url) = upgrade { p { a.button href=(url) { "Upgrade to Pro" } } }
        @else if m.org.tier == domain::tier::Tier::Free && !m.role.can_own() { p.muted { "Only an owner can change the plan." } }
        (super::erasure::organization_section(&m))
        h2 { "Your account" }
        p { "Signed in as " strong { (m.user.email) } ". " a href="/app/reset" { "Change your password" } " (we e-mail you a link)." }
        (super::erasure::account_section(&m))
    };
    Ok(respond(&m.visitor, StatusCode::OK, page(&Frame::of(&m, "settings"), "Settings", body)))
}

pub async fn rename(State(state): State<AppState>, m: Member, AppForm(f): AppForm<NameForm>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    m.require_admin()?;
    let name = org_name(&f.name)?;
    let mut tx = state.pool.begin().await?;
    store::organizations::rename(&mut *tx, m.org.id, &name).await?;
    let details = serde_json::json!({"from": m.org.name, "to": name});
    store::audit::record(&mut *tx, m.org.id, Actor::User(m.user.id), AuditAction::OrganizationRenamed, Some(("organization", &m.org.id.to_string())), details).await?;
    tx.commit().await?;
    Ok(see_other("/app/settings"))
}
