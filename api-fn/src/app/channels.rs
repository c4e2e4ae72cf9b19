//! Alert channels, for the organization's admins (as in the API, channels are credentials'
//! company): the list (webhook URLs masked as the API shows them), add an e-mail address or a
//! webhook URL with the events it takes, send a test through the real outbox and say what
//! happened, edit (name, address or URL, events, on or off), delete. Each job's mute and its own
//! choice of channels are on the job's page (`jobs::set_mute`, `jobs::set_alerts`).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::alert::AlertKind;
use domain::notification::{ChannelKind, SendStatus};
use maud::html;
use uuid::Uuid;

use super::auth::AppForm;
use super::orgs::CsrfOnly;
use super::{AppError, Frame, Member, csrf_field, notice, page, respond, see_other};
use crate::AppState;
use crate::v1::channels::{ChannelInput, ChannelPatch, masked};
use crate::v1::extract::ApiPath;

async fn render(state: &AppState, m: &Member, message: Option<(&str, String)>, status: StatusCode) -> Result<Response, AppError> {
    let channels = store::notification_channels::list(&state.pool, m.org.id, None, 100).await?;
    let csrf = &m.visitor.csrf;
    let body = html! {
        @if let Some((kind, text)) = &message { (notice(kind, html! { (text) })) }
        p { "Failed runs after their last attempt, recoveries, monitors going down or up and missed completion pings are sent to every channel below (each takes the events ticked), unless a job is muted or lists channels of its own. " a href="/docs/webhooks" { "Alert payloads" } }
        @if channels.is_empty() { p.muted { "No channels yet: alerts are recorded and sent nowhere. Add your on-call address or a Slack, Discord or any webhook URL." } } @else {
            div.scroll { table {
                caption.visually-hidden { "Alert channels" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Where" } th scope="col" { "Events" } th scope="col" { "State" } th scope="col" { "Actions" } } }
                tbody { @for c in &channels { tr {
                    td { @match &c.name { Some(n) => (n), None => span.muted { "—" } } }
                    td { (c.target.kind().as_str()) " · " code { (masked(&c.target)) } }
                    td { (c.events.names().join(", ")) }
                    td { @if c.enabled { span.badge.ok { "enabled" } } @else { span.badge { "disabled" } } }
                    td {
                        a.button.small href={ "/app/channels/" (c.id) "/edit" } aria-label={ "Edit " (masked(&c.target)) } { "Edit" }
                        " "
                        form method="post" action={ "/app/channels/" (c.id) "/test" } { (csrf_field(csrf)) button.button.small type="submit" aria-label={ "Send test to " (masked(&c.target)) } { "Send test" } }
                        " "
                        form method="post" action={ "/app/channels/" (c.id) "/delete" } { (csrf_field(csrf)) button.button.small.danger type="submit" aria-label={ "Delete " (masked(&c.target)) } { "Delete" } }
                    }
                } } }
            } }
        }
        h2 { "Add a channel" }
        form.stack method="post" action="/app/channels" {
            (csrf_field(csrf))
            label { "Kind" select name="kind" { option value="email" { "E-mail address" } option value="webhook" { "Webhook URL (Slack, Discord or any)" } } }
            label { "Address or URL" input type="text" name="target" required maxlength="2048"; }
            label { "Name (optional)" input type="text" name="name" maxlength="200"; }
            fieldset {
                legend { "Events" }
                @for k in AlertKind::ALL { label.check { input type="checkbox" name={ "event:" (k.event_name()) } value="on" checked; " " (k.event_name()) } }
            }
            button.button type="submit" { "Add channel" }
        }
    };
    Ok(respond(&m.visitor, status, page(&Frame::of(m, "channels"), "Alert channels", body)))
}

pub async fn list(State(state): State<AppState>, m: Member) -> Result<Response, AppError> {
    m.require_admin()?;
    render(&state, &m, None, StatusCode::OK).await
}

/// Adds a channel through the API's rules (validation, the plan's channel limit). The form is
/// read as a map: one `event:<kind>` field per ticked box.
pub async fn create(State(state): State<AppState>, m: Member, AppForm(f): AppForm<HashMap<String, String>>) -> Result<Response, AppError> {
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    m.visitor.check_csrf(&field("csrf"))?;
    m.require_admin()?;
    let kind = if field("kind") == "webhook" { ChannelKind::Webhook } else { ChannelKind::Email };
    let events: Vec<String> = AlertKind::ALL.iter().filter(|k| f.contains_key(&format!("event:{}", k.event_name()))).map(|k| k.event_name().to_owned()).collect();
    let input = ChannelInput { name: Some(field("name")).filter(|n| !n.is_empty()), kind, target: field("target"), events: Some(events), enabled: None };
    match crate::v1::channels::create_channel(&state.pool, m.org.id, m.org.tier, &input).await {
        Ok(c) => render(&state, &m, Some(("", format!("Added {}.", masked(&c.target)))), StatusCode::OK).await,
        Err(p) if p.status == 422 || p.status == 403 => {
            let words = if p.errors.is_empty() { p.detail } else { p.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ") };
            render(&state, &m, Some(("error", format!("Not added. {words}"))), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(p) => Err(p.into()),
    }
}

/// Sends a test through the outbox and says what became of it.
pub async fn test(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    m.require_admin()?;
    let (_, r) = crate::v1::channels::send_test(&state.pool, m.org.id, id).await?;
    let (kind, text) = match r.status {
        SendStatus::Sent => ("", format!("The test message was sent{}.", r.response_status.map(|c| format!(" (the endpoint answered {c})")).unwrap_or_default())),
        SendStatus::Failed => ("error", format!("The test message failed: {}.", r.error.unwrap_or_else(|| "no reason given".into()))),
        SendStatus::Pending => ("warn", "The test message is queued; it was not sent within 15 s (is the dispatcher running?).".to_owned()),
    };
    render(&state, &m, Some((kind, text)), StatusCode::OK).await
}

pub async fn delete(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    m.require_admin()?;
    if !store::notification_channels::delete(&state.pool, m.org.id, id).await? {
        return Err(AppError::NotFound);
    }
    tracing::info!(org_id = %m.org.id, channel_id = %id, user_id = %m.user.id, "notification channel deleted from the dashboard");
    Ok(see_other("/app/channels"))
}

/// The edit form of one channel: its kind stays; a webhook URL is not shown again (it is a
/// credential), so a blank field keeps it.
fn edit_form(m: &Member, c: &store::notification_channels::Channel, errors: Option<&str>) -> maud::Markup {
    let webhook = c.target.kind() == ChannelKind::Webhook;
    let body = html! {
        @if let Some(e) = errors { (notice("error", html! { "Not saved. " (e) })) }
        p { (c.target.kind().as_str()) " channel · " code { (masked(&c.target)) } }
        form.stack method="post" action={ "/app/channels/" (c.id) "/edit" } {
            (csrf_field(&m.visitor.csrf))
            @if webhook {
                label { "Webhook URL" input type="url" name="target" maxlength="2048" autocomplete="off"; span.hint { "Blank keeps " (masked(&c.target)) "." } }
            } @else {
                label { "Address" input type="email" name="target" required maxlength="254" value=(c.target.as_str()); }
            }
            label { "Name" input type="text" name="name" maxlength="200" value=[c.name.as_deref()]; span.hint { "Blank keeps the current name." } }
            fieldset {
                legend { "Events" }
                @for k in AlertKind::ALL { label.check { input type="checkbox" name={ "event:" (k.event_name()) } value="on" checked[c.events.names().contains(&k.event_name())]; " " (k.event_name()) } }
            }
            label.check { input type="checkbox" name="enabled" value="on" checked[c.enabled]; " Enabled (unticked: nothing is sent to it)" }
            button.button type="submit" { "Save channel" }
        }
        p { a href="/app/channels" { "Back to the alert channels" } }
    };
    page(&Frame::of(m, "channels"), "Edit alert channel", body)
}

pub async fn edit_page(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>) -> Result<Response, AppError> {
    m.require_admin()?;
    let c = store::notification_channels::get(&state.pool, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    Ok(respond(&m.visitor, StatusCode::OK, edit_form(&m, &c, None)))
}

/// Saves an edit through the API's update (the same validation as a new channel).
pub async fn edit(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<HashMap<String, String>>) -> Result<Response, AppError> {
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    m.visitor.check_csrf(&field("csrf").unwrap_or_default())?;
    m.require_admin()?;
    let current = store::notification_channels::get(&state.pool, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    let events: Vec<String> = AlertKind::ALL.iter().filter(|k| f.contains_key(&format!("event:{}", k.event_name()))).map(|k| k.event_name().to_owned()).collect();
    let patch = ChannelPatch { name: field("name"), target: field("target"), events: Some(events), enabled: Some(f.contains_key("enabled")) };
    match crate::v1::channels::update_channel(&state.pool, m.org.id, id, &patch).await {
        Ok(c) => {
            tracing::info!(org_id = %m.org.id, channel_id = %id, user_id = %m.user.id, "notification channel edited from the dashboard");
            render(&state, &m, Some(("", format!("Saved {}.", masked(&c.target)))), StatusCode::OK).await
        }
        Err(p) if p.status == 422 => {
            let words = if p.errors.is_empty() { p.detail } else { p.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ") };
            Ok(respond(&m.visitor, StatusCode::UNPROCESSABLE_ENTITY, edit_form(&m, &current, Some(&words))))
        }
        Err(p) => Err(p.into()),
    }
}
