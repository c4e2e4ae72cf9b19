//! Members and invitations. Admins invite by e-mail (a link that works once, for seven days,
//! only its hash kept), change roles (only owners make owners), remove members and withdraw
//! invitations; anyone may leave, except the last owner. The plan's member limit counts open
//! invitations. The person invited accepts or declines signed in with the invited address.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use domain::account::{INVITE_LIFETIME, MailKind, Role, new_token, token_hash};
use domain::audit::{Actor, AuditAction};
use domain::email::EmailAddress;
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::AppForm;
use super::orgs::CsrfOnly;
use super::session::Visitor;
use super::{AppError, Frame, Member, csrf_field, mail, notice, page, respond, see_other, url_escape};
use crate::AppState;
use crate::v1::extract::ApiPath;

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    pub csrf: String,
    pub email: String,
    pub role: String,
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    pub csrf: String,
    pub role: String,
}

fn role_of(s: &str) -> Result<Role, AppError> {
    s.parse().map_err(|_| AppError::BadRequest(format!("{s:?} is not a role (member, admin, owner).")))
}

async fn render(state: &AppState, m: &Member, error: Option<String>) -> Result<Response, AppError> {
    let members = store::users::members(&state.pool, m.org.id).await?;
    let invites = if m.role.can_administer() { store::invites::open_for(&state.pool, m.org.id).await? } else { Vec::new() };
    let now = Utc::now();
    let seats = store::users::seats_used(&state.pool, m.org.id, now).await?;
    let limit = m.org.tier.limits().max_members;
    let admin = m.role.can_administer();
    let body = html! {
        @if let Some(e) = &error { (notice("error", html! { (e) })) }
        p.muted { (seats) " seat(s) used (members and open invitations)" @if let Some(l) = limit { " of " (l) " on the " (m.org.tier.display_name()) " plan" } "." }
        div.scroll tabindex="0" role="region" aria-label="Members" { table {
            caption.visually-hidden { "Members" }
            thead { tr { th scope="col" { "Member" } th scope="col" { "Role" } th scope="col" { "Joined" } @if admin { th scope="col" { "Actions" } } } }
            tbody {
                @for member in &members {
                    tr {
                        td { (member.user.email) @if member.user.id == m.user.id { " (you)" } }
                        td { (member.role) }
                        td { (member.joined_at.format("%Y-%m-%d")) }
                        @if admin {
                            td {
                                @if member.user.id != m.user.id && m.role.may_grant(member.role) {
                                    form method="post" action={ "/app/members/" (member.user.id) "/role" } {
                                        (csrf_field(&m.visitor.csrf))
                                        label.visually-hidden for={ "role-" (member.user.id) } { "Role of " (member.user.email) }
                                        select id={ "role-" (member.user.id) } name="role" {
                                            @for r in [Role::Member, Role::Admin, Role::Owner] {
                                                @if m.role.may_grant(r) { option value=(r) selected[r == member.role] { (r) } }
                                            }
                                        }
                                        " " button.button.small type="submit" { "Change role" }
                                    }
                                    " "
                                    form method="post" action={ "/app/members/" (member.user.id) "/remove" } {
                                        (csrf_field(&m.visitor.csrf))
                                        button.button.small.danger type="submit" aria-label={ "Remove " (member.user.email) } { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        } }
        @if admin {
            h2 { "Invite someone" }
            form.row method="post" action="/app/members/invite" {
                (csrf_field(&m.visitor.csrf))
                label { "E-mail address" input type="email" name="email" required maxlength="254"; }
                label { "Role" select name="role" { option value="member" { "member" } option value="admin" { "admin" } } }
                button.button type="submit" { "Send invitation" }
            }
            @if !invites.is_empty() {
                h2 { "Open invitations" }
                div.scroll tabindex="0" role="region" aria-label="Open invitations" { table {
                    caption.visually-hidden { "Open invitations" }
                    thead { tr { th scope="col" { "Address" } th scope="col" { "Role" } th scope="col" { "Expires" } th scope="col" { "Actions" } } }
                    tbody {
                        @for i in &invites {
                            tr {
                                td { (i.email) }
                                td { (i.role) }
                                td { @if i.expires_at <= now { "expired" } @else { (i.expires_at.format("%Y-%m-%d %H:%M UTC")) } }
                                td {
                                    form method="post" action={ "/app/invites/" (i.id) "/revoke" } {
                                        (csrf_field(&m.visitor.csrf))
                                        button.button.small.danger type="submit" aria-label={ "Withdraw the invitation of " (i.email) } { "Withdraw" }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
        h2 { "Leave" }
        form method="post" action="/app/members/leave" {
            (csrf_field(&m.visitor.csrf))
            button.button.danger type="submit" { "Leave " (m.org.name) }
        }
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(respond(&m.visitor, status, page(&Frame::of(m, "members"), "Members", body)))
}

pub async fn list(State(state): State<AppState>, m: Member) -> Result<Response, AppError> {
    render(&state, &m, None).await
}

pub async fn invite(State(state): State<AppState>, m: Member, AppForm(f): AppForm<InviteForm>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    m.require_admin()?;
    let role = role_of(&f.role)?;
    if role == Role::Owner || !m.role.may_grant(role) {
        return render(&state, &m, Some("Invite as member or admin; make someone an owner once they have joined.".into())).await;
    }
    let email = match EmailAddress::parse(&f.email) {
        Ok(e) => e,
        Err(e) => return render(&state, &m, Some(format!("E-mail address: {e}."))).await,
    };
    let now = Utc::now();
    let mut tx = state.pool.begin().await?;
    // the organization row is locked so concurrent invitations cannot pass the limit together
    let org = store::organizations::lock(&mut *tx, m.org.id).await?.ok_or(AppError::NotFound)?;
    if let Some(max) = org.tier.limits().max_members
        && store::users::seats_used(&mut *tx, org.id, now).await? >= i64::from(max)
    {
        return render(&state, &m, Some(format!("The {} plan allows {max} members, counting open invitations. Withdraw one, remove a member, or upgrade.", org.tier.display_name()))).await;
    }
    if store::users::members(&mut *tx, org.id).await?.iter().any(|x| x.user.email.eq_ignore_ascii_case(email.as_str())) {
        return render(&state, &m, Some(format!("{} is a member already.", email.as_str()))).await;
    }
    let token = new_token(rand::random());
    let invite = match store::invites::create(&mut *tx, org.id, email.as_str(), role, &token_hash(&token), m.user.id, now + INVITE_LIFETIME).await {
        Ok(i) => i,
        Err(e) if e.is_conflict_on("invites_open_key") => return render(&state, &m, Some(format!("{} has an open invitation already.", email.as_str()))).await,
        Err(e) => return Err(e.into()),
    };
    let link = format!("{}/app/invite/{token}", state.config.public_url);
    let lead = format!("{} invited you to join {} on Prikke as {}. The invitation is open for seven days.", m.user.email, org.name, role);
    let subject = format!("Join {} on Prikke", org.name);
    mail::send(&mut tx, Some(org.id), MailKind::Invite, email.as_str(), &subject, &lead, &link, "See the invitation", "If you do not know this person or organization, ignore this message.").await?;
    let details = serde_json::json!({"email": email.as_str(), "role": role});
    store::audit::record(&mut *tx, org.id, Actor::User(m.user.id), AuditAction::MemberInvited, Some(("invite", &invite.id.to_string())), details).await?;
    tx.commit().await?;
    Ok(see_other("/app/members"))
}

/// A member of the organization other than the one asking, whom the asker may manage.
async fn managed(state: &AppState, m: &Member, user_id: Uuid) -> Result<store::users::Member, AppError> {
    let target = store::users::members(&state.pool, m.org.id).await?.into_iter().find(|x| x.user.id == user_id).ok_or(AppError::NotFound)?;
    if target.user.id == m.user.id || !m.role.may_grant(target.role) {
        return Err(AppError::Forbidden("You may not change this member.".into()));
    }
    Ok(target)
}

pub async fn change_role(State(state): State<AppState>, m: Member, ApiPath(user_id): ApiPath<Uuid>, AppForm(f): AppForm<RoleForm>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    m.require_admin()?;
    let role = role_of(&f.role)?;
    let target = managed(&state, &m, user_id).await?;
    if !m.role.may_grant(role) {
        return Err(AppError::Forbidden("Only owners make owners.".into()));
    }
    let mut tx = state.pool.begin().await?;
    if target.role == Role::Owner && role != Role::Owner && store::users::owners_locked(&mut tx, m.org.id).await? <= 1 {
        return render(&state, &m, Some("An organization needs an owner: make someone else owner first.".into())).await;
    }
    store::users::upsert_membership(&mut *tx, m.org.id, user_id, role).await?;
    let details = serde_json::json!({"email": target.user.email, "from": target.role, "to": role});
    store::audit::record(&mut *tx, m.org.id, Actor::User(m.user.id), AuditAction::MemberRoleChanged, Some(("user", &user_id.to_string())), details).await?;
    tx.commit().await?;
    Ok(see_other("/app/members"))
}

pub async fn remove(State(state): State<AppState>, m: Member, ApiPath(user_id): ApiPath<Uuid>, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    m.require_admin()?;
    let target = managed(&state, &m, user_id).await?;
    let mut tx = state.pool.begin().await?;
    if target.role == Role::Owner && store::users::owners_locked(&mut tx, m.org.id).await? <= 1 {
        return render(&state, &m, Some("The last owner cannot be removed.".into())).await;
    }
    store::users::remove_membership(&mut *tx, m.org.id, user_id).await?;
    let details = serde_json::json!({"email": target.user.email, "role": target.role});
    store::audit::record(&mut *tx, m.org.id, Actor::User(m.user.id), AuditAction::MemberRemoved, Some(("user", &user_id.to_string())), details).await?;
    tx.commit().await?;
    Ok(see_other("/app/members"))
}

pub async fn leave(State(state): State<AppState>, m: Member, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    let mut tx = state.pool.begin().await?;
    if m.role == Role::Owner && store::users::owners_locked(&mut tx, m.org.id).await? <= 1 {
        return render(&state, &m, Some("You are the last owner: make someone else owner before you leave.".into())).await;
    }
    store::users::remove_membership(&mut *tx, m.org.id, m.user.id).await?;
    let details = serde_json::json!({"email": m.user.email, "role": m.role, "left": true});
    store::audit::record(&mut *tx, m.org.id, Actor::User(m.user.id), AuditAction::MemberRemoved, Some(("user", &m.user.id.to_string())), details).await?;
    store::sessions::set_current_org(&mut *tx, m.session.id, None).await?;
    tx.commit().await?;
    Ok(see_other("/app"))
}

pub async fn revoke_invite(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    m.require_admin()?;
    let mut tx = state.pool.begin().await?;
    let invite = store::invites::revoke(&mut *tx, m.org.id, id, Utc::now()).await?.ok_or(AppError::NotFound)?;
    let details = serde_json::json!({"email": invite.email, "role": invite.role});
    store::audit::record(&mut *tx, m.org.id, Actor::User(m.user.id), AuditAction::InviteRevoked, Some(("invite", &id.to_string())), details).await?;
    tx.commit().await?;
    Ok(see_other("/app/members"))
}

fn invitation_gone(v: &Visitor) -> Response {
    let body = notice("error", html! { "This invitation has been answered, withdrawn, or has expired. Ask whoever invited you for a new one." });
    respond(v, StatusCode::GONE, page(&Frame::public(v), "Invitation", body))
}

/// The invitation behind a link, with what the visitor can do with it.
pub async fn invite_page(State(state): State<AppState>, v: Visitor, ApiPath(token): ApiPath<String>) -> Result<Response, AppError> {
    let now = Utc::now();
    let Some(invite) = store::invites::by_token(&state.pool, &token_hash(&token), now).await? else { return Ok(invitation_gone(&v)) };
    let org = store::organizations::get(&state.pool, invite.org_id).await?.ok_or(AppError::NotFound)?;
    let here = format!("/app/invite/{token}");
    let body = html! {
        p { "You are invited to join " strong { (org.name) } " on Prikke as " strong { (invite.role) } "." }
        @match &v.signed_in {
            None => {
                p { "Sign in, or create an account, as " strong { (invite.email) } " to accept." }
                p { a.button href={ "/app/login?next=" (url_escape(&here)) } { "Sign in" } " " a href={ "/app/signup?next=" (url_escape(&here)) } { "Create an account" } }
            }
            Some(s) if !s.user.email.eq_ignore_ascii_case(&invite.email) => {
                (notice("warn", html! { "This invitation is for " strong { (invite.email) } "; you are signed in as " strong { (s.user.email) } ". Sign out and sign in as " (invite.email) " to accept." }))
            }
            Some(_) => {
                form.inline method="post" action={ (here) "/accept" } { (csrf_field(&v.csrf)) button.button type="submit" { "Accept and join" } }
                " "
                form.inline method="post" action={ (here) "/decline" } { (csrf_field(&v.csrf)) button.button.danger type="submit" { "Decline" } }
            }
        }
    };
    Ok(respond(&v, StatusCode::OK, page(&Frame::public(&v), "Invitation", body)))
}

pub async fn accept(State(state): State<AppState>, v: Visitor, ApiPath(token): ApiPath<String>, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    let Some(s) = &v.signed_in else { return Ok(see_other(&format!("/app/login?next={}", url_escape(&format!("/app/invite/{token}"))))) };
    let now = Utc::now();
    let mut tx = state.pool.begin().await?;
    let Some(invite) = store::invites::by_token(&mut *tx, &token_hash(&token), now).await? else { return Ok(invitation_gone(&v)) };
    if !s.user.email.eq_ignore_ascii_case(&invite.email) {
        return Err(AppError::Forbidden(format!("This invitation is for {}; sign in with that address to accept it.", invite.email)));
    }
    if !store::invites::answer(&mut *tx, invite.id, true, now).await? {
        return Ok(invitation_gone(&v));
    }
    // someone who is a member already keeps their role
    if store::users::role_in(&mut *tx, invite.org_id, s.user.id).await?.is_none() {
        store::users::upsert_membership(&mut *tx, invite.org_id, s.user.id, invite.role).await?;
    }
    let details = serde_json::json!({"email": s.user.email, "role": invite.role});
    store::audit::record(&mut *tx, invite.org_id, Actor::User(s.user.id), AuditAction::MemberJoined, Some(("user", &s.user.id.to_string())), details).await?;
    store::sessions::set_current_org(&mut *tx, s.session.id, Some(invite.org_id)).await?;
    tx.commit().await?;
    tracing::info!(org_id = %invite.org_id, user_id = %s.user.id, "invitation accepted");
    Ok(see_other("/app"))
}

pub async fn decline(State(state): State<AppState>, v: Visitor, ApiPath(token): ApiPath<String>, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    v.check_csrf(&f.csrf)?;
    let now = Utc::now();
    let Some(invite) = store::invites::by_token(&state.pool, &token_hash(&token), now).await? else { return Ok(invitation_gone(&v)) };
    store::invites::answer(&state.pool, invite.id, false, now).await?;
    let body = notice("", html! { "Invitation declined." });
    Ok(respond(&v, StatusCode::OK, page(&Frame::public(&v), "Invitation", body)))
}
