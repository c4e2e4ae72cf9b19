//! Deleting an organization (an owner; restorable for `domain::lifetimes::ORG_DELETION_GRACE`,
//! then erased by the dispatcher) and deleting one's own account. The rules are in
//! `store::erasure`; these pages ask for the confirmation and say what will happen.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::response::Response;
use chrono::Utc;
use domain::audit::{Actor, AuditAction};
use maud::{Markup, html};
use serde::Deserialize;
use store::erasure::UserDeletion;

use super::auth::AppForm;
use super::session::{SESSION_COOKIE, Visitor};
use super::{AppError, Member, csrf_field, see_other};
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    pub csrf: String,
    /// What the page asks to be typed: the organization's slug, or the account's e-mail address.
    #[serde(default)]
    pub confirm: String,
}

fn require_owner(m: &Member) -> Result<(), AppError> {
    if m.role.can_own() { Ok(()) } else { Err(AppError::Forbidden("Only the organization's owners may delete or restore it.".into())) }
}

/// The settings page's section on the organization's deletion: the form (owners), or, once asked
/// for, when it happens and the way back.
pub fn organization_section(m: &Member) -> Markup {
    if m.org.purge_after.is_none() && !m.role.can_own() {
        return html! {};
    }
    html! {
        h2 #delete { "Delete the organization" }
        @if let Some(at) = m.org.purge_after {
            p { "This organization is scheduled for deletion. Its jobs are paused, its pending deliveries were cancelled, and its API keys and ping URLs are refused. On "
                strong { (at.format("%Y-%m-%d %H:%M UTC")) } " everything it holds is erased for good." }
            @if m.role.can_administer() {
                form method="post" action="/app/export" {
                    (csrf_field(&m.visitor.csrf))
                    button.button type="submit" { "Download all of its data first" }
                }
            }
            @if m.role.can_own() {
                form method="post" action="/app/settings/restore" {
                    (csrf_field(&m.visitor.csrf))
                    button.button type="submit" { "Restore the organization" }
                }
            } @else { p.muted { "An owner can restore it until then." } }
        } @else if m.role.can_own() {
            p { "Deleting " strong { (m.org.name) } " pauses its jobs and cancels its pending deliveries at once; its API keys and ping URLs stop working. For "
                (domain::lifetimes::ORG_DELETION_GRACE.num_days()) " days an owner can restore it; then every job, run, monitor, member list and log it holds is erased. "
                "Download its data first if you need it (Audit log)." }
            p { "To confirm, type its slug: " code { (m.org.slug) } }
            form.stack method="post" action="/app/settings/delete" {
                (csrf_field(&m.visitor.csrf))
                label { "Organization slug" input type="text" name="confirm" required autocomplete="off" spellcheck="false"; }
                button.button.danger type="submit" { "Delete this organization" }
            }
        }
    }
}

/// The settings page's part on deleting one's own account.
pub fn account_section(m: &Member) -> Markup {
    html! {
        p { "Deleting your account signs you out everywhere and erases your address and sign-in details; the organizations you belong to keep running. "
            "While you are an organization's only owner, make someone else owner or delete the organization first. To confirm, type your e-mail address." }
        form.stack method="post" action="/app/account/delete" {
            (csrf_field(&m.visitor.csrf))
            label { "Your e-mail address" input type="email" name="confirm" required autocomplete="off"; }
            button.button.danger type="submit" { "Delete my account" }
        }
    }
}

pub async fn delete_org(State(state): State<AppState>, m: Member, AppForm(f): AppForm<ConfirmForm>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    require_owner(&m)?;
    if f.confirm.trim() != m.org.slug {
        return Err(AppError::BadRequest(format!("To delete the organization, type its slug ({}) exactly. Nothing was deleted.", m.org.slug)));
    }
    let now = Utc::now();
    let purge_after = now + domain::lifetimes::ORG_DELETION_GRACE;
    let mut tx = state.pool.begin().await?;
    if let Some(done) = store::erasure::request(&mut tx, m.org.id, now, purge_after).await? {
        let details = serde_json::json!({"purge_after": purge_after, "jobs_paused": done.jobs_paused, "runs_cancelled": done.runs_cancelled});
        store::audit::record(&mut *tx, m.org.id, Actor::User(m.user.id), AuditAction::OrganizationDeletionRequested, Some(("organization", &m.org.id.to_string())), details).await?;
        tracing::info!(org_id = %m.org.id, user_id = %m.user.id, jobs_paused = done.jobs_paused, runs_cancelled = done.runs_cancelled, %purge_after, "organization scheduled for deletion");
    }
    tx.commit().await?;
    Ok(see_other("/app/settings#delete"))
}

pub async fn restore_org(State(state): State<AppState>, m: Member, AppForm(f): AppForm<ConfirmForm>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    require_owner(&m)?;
    let mut tx = state.pool.begin().await?;
    let Some(resumed) = store::erasure::restore(&mut tx, m.org.id, Utc::now()).await? else {
        return Err(AppError::BadRequest("This organization is not scheduled for deletion, or its grace period is over.".into()));
    };
    store::audit::record(&mut *tx, m.org.id, Actor::User(m.user.id), AuditAction::OrganizationRestored, Some(("organization", &m.org.id.to_string())), serde_json::json!({"jobs_resumed": resumed})).await?;
    tx.commit().await?;
    tracing::info!(org_id = %m.org.id, user_id = %m.user.id, jobs_resumed = resumed, "organization restored");
    Ok(see_other("/app/settings"))
}

pub async fn delete_account(State(state): State<AppState>, v: Visitor, AppForm(f): AppForm<ConfirmForm>) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    let Some(s) = &v.signed_in else { return Ok(see_other("/app/login")) };
    if !f.confirm.trim().eq_ignore_ascii_case(&s.user.email) {
        return Err(AppError::BadRequest("To delete your account, type your e-mail address exactly. Nothing was deleted.".into()));
    }
    let mut tx = state.pool.begin().await?;
    match store::erasure::delete_user(&mut tx, s.user.id).await? {
        UserDeletion::Deleted => {}
        UserDeletion::NotFound => return Ok(see_other("/app/login")),
        UserDeletion::SoleOwner(orgs) => {
            let names: Vec<String> = orgs.into_iter().map(|(_, name)| name).collect();
            return Err(AppError::BadRequest(format!(
                "You are the only owner of {}. Make another member owner (Members), or delete the organization (Settings), then delete your account. Nothing was deleted.",
                names.join(", ")
            )));
        }
    }
    tx.commit().await?;
    tracing::info!(user_id = %s.user.id, "account deleted");
    let mut res = see_other("/app/login?done=account_deleted");
    res.headers_mut().append(SET_COOKIE, v.cookie_header(SESSION_COOKIE, "", 0));
    Ok(res)
}
