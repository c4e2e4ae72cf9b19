//! `/api/v1/notification-channels`: where an organization's alerts go (e-mail addresses and
//! webhook URLs; Slack and Discord URLs get their own format), which events each takes, and a
//! test message on demand. The API only writes rows: the dispatcher sends every message, test
//! messages included, from the outbox.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::notification::{ChannelKind, ChannelTarget, EventSet, EventSetError, Flavor, SendStatus};
use serde::{Deserialize, Serialize};
use store::notification_channels::{Channel, ChannelFields};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Tenant;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{PageQuery, paginate};
use crate::AppState;
use crate::problem::{FieldProblem, Problem};

/// How long `…/test` waits for the dispatcher to send the message before answering 202.
pub const TEST_WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    /// A label for people (optional).
    #[schema(example = "On-call", max_length = 200)]
    pub name: Option<String>,
    pub kind: ChannelKind,
    /// An e-mail address, or an http(s) URL. Slack (`https://hooks.slack.com/services/…`) and
    /// Discord (`https://discord.com/api/webhooks/…`) URLs get messages in their own format; any
    /// other URL gets JSON signed like job deliveries.
    #[schema(example = "https://hooks.slack.com/services/T000/B000/XXXX", max_length = 2048)]
    pub target: String,
    /// The events it takes (default: all): job.failed, job.recovered, monitor.down, monitor.up,
    /// completion.missed.
    #[schema(example = json!(["job.failed", "job.recovered"]))]
    pub events: Option<Vec<String>>,
    /// Default true.
    pub enabled: Option<bool>,
}

/// Changes to a channel; fields left out stay as they are (its kind cannot change).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelPatch {
    #[schema(max_length = 200)]
    pub name: Option<String>,
    pub target: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelView {
    pub id: Uuid,
    pub name: Option<String>,
    pub kind: ChannelKind,
    /// The message format its target gets.
    pub flavor: Flavor,
    /// The address, or the webhook URL with its path masked (webhook URLs are credentials).
    #[schema(example = "https://hooks.slack.com/…XXXX")]
    pub target: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of notification channels, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelPage {
    /// At most `limit` channels.
    pub data: Vec<ChannelView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// What became of a test message.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    /// The send's id: the message's `webhook-id` (as `msg_…`) or the e-mail's Message-ID.
    pub id: Uuid,
    /// `pending` when it was not sent within 15 s (it still will be, or will fail).
    pub status: SendStatus,
    pub attempts: i16,
    /// What the endpoint answered (webhooks).
    pub response_status: Option<i16>,
    pub error: Option<String>,
}

/// A webhook URL as shown after it was stored: scheme, host, and the last four characters.
pub fn masked(target: &ChannelTarget) -> String {
    match target {
        ChannelTarget::Email(a) => a.as_str().to_owned(),
        ChannelTarget::Webhook(url) => {
            let u = url.as_url();
            let tail: String = u.as_str().chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
            format!("{}://{}/…{tail}", u.scheme(), u.host_str().unwrap_or_default())
        }
    }
}

impl From<&Channel> for ChannelView {
    fn from(c: &Channel) -> Self {
        ChannelView {
            id: c.id,
            name: c.name.clone(),
            kind: c.target.kind(),
            flavor: c.target.flavor(),
            target: masked(&c.target),
            events: c.events.names().into_iter().map(str::to_owned).collect(),
            enabled: c.enabled,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// The validated fields of a write; every invalid field reported at once.
#[derive(Debug)]
struct Valid {
    name: Option<String>,
    target: ChannelTarget,
    events: EventSet,
}

fn validate(name: Option<&str>, kind: ChannelKind, target: &str, events: Option<&[String]>) -> Result<Valid, Problem> {
    let mut errors = Vec::new();
    let mut push = |field: &str, code: &str, message: String| errors.push(FieldProblem { field: field.into(), code: code.into(), message });
    let name = match name.map(str::trim) {
        Some("") => {
            push("name", "name_empty", "the name cannot be empty; leave it out instead".into());
            None
        }
        Some(n) if n.chars().count() > 200 => {
            push("name", "name_too_long", "the name is at most 200 characters".into());
            None
        }
        other => other.map(str::to_owned),
    };
    let target = ChannelTarget::parse(kind, target).map_err(|e| push("target", "target_invalid", e.to_string())).ok();
    let events = match events {
        None => Some(EventSet::all()),
        Some(list) => EventSet::parse(list)
            .map_err(|e| {
                let code = match e {
                    EventSetError::Empty => "events_empty",
                    EventSetError::Unknown(_) => "event_unknown",
                };
                push("events", code, e.to_string())
            })
            .ok(),
    };
    match (target, events) {
        (Some(target), Some(events)) if errors.is_empty() => Ok(Valid { name, target, events }),
        _ => {
            let detail = match errors.as_slice() {
                [one] => format!("{}: {}", one.field, one.message),
                many => format!("{} fields are invalid; see errors", many.len()),
            };
            Err(Problem::validation(detail, errors))
        }
    }
}

/// Add a notification channel.
///
/// An e-mail address or a webhook URL that gets the organization's alerts (all events by
/// default, or the ones listed). Slack and Discord URLs get messages in their own format.
#[utoipa::path(post, path = "/api/v1/notification-channels", tag = "alerts", operation_id = "createNotificationChannel", request_body(content = ChannelInput, example = json!(crate::v1::examples::channel_input())),
    responses(
        (status = 201, description = "Created", body = ChannelView, headers(("Location" = String, description = "URL of the new channel")), example = json!(crate::v1::examples::channel())),
        (status = 403, description = "The plan's channel limit is reached", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::channel_limit_problem())),
    ),
    security(("api_key" = [])))]
pub async fn create(State(state): State<AppState>, tenant: Tenant, ApiJson(input): ApiJson<ChannelInput>) -> Result<Response, Problem> {
    let channel = create_channel(&state.pool, tenant.org_id, tenant.tier, &input).await?;
    let mut res = (StatusCode::CREATED, Json(ChannelView::from(&channel))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/notification-channels/{}", channel.id)) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

/// Validates and stores a channel of `org_id` within its plan's channel limit (counted under a
/// lock): the API's create and the dashboard's form.
pub async fn create_channel(pool: &sqlx::PgPool, org_id: Uuid, tier: domain::tier::Tier, input: &ChannelInput) -> Result<Channel, Problem> {
    let v = validate(input.name.as_deref(), input.kind, &input.target, input.events.as_deref())?;
    let mut tx = pool.begin().await?;
    let count = store::notification_channels::count_locked(&mut tx, org_id, input.kind).await?;
    let limits = tier.limits();
    if !limits.allows_another_channel(input.kind, u32::try_from(count).unwrap_or(u32::MAX)) {
        let max = match input.kind {
            ChannelKind::Email => limits.max_email_channels,
            ChannelKind::Webhook => limits.max_webhook_channels,
        };
        return Err(Problem::channel_limit(tier, input.kind, max.unwrap_or(0)));
    }
    let fields = ChannelFields { name: v.name.as_deref(), target: &v.target, events: &v.events, enabled: input.enabled.unwrap_or(true) };
    let channel = store::notification_channels::insert(&mut *tx, org_id, Uuid::now_v7(), &fields).await?;
    tx.commit().await?;
    tracing::info!(%org_id, channel_id = %channel.id, kind = input.kind.as_str(), "notification channel created");
    Ok(channel)
}

/// List notification channels.
///
/// Newest first, a page at a time: pass the page's `next_cursor` as `cursor` for the next one.
/// Webhook URLs are shown masked.
#[utoipa::path(get, path = "/api/v1/notification-channels", tag = "alerts", operation_id = "listNotificationChannels", params(PageQuery),
    responses((status = 200, description = "A page of channels", body = ChannelPage, example = json!(crate::v1::examples::channel_page()))),
    security(("api_key" = [])))]
pub async fn list(State(state): State<AppState>, tenant: Tenant, ApiQuery(q): ApiQuery<PageQuery>) -> Result<Json<ChannelPage>, Problem> {
    let page = q.parse()?;
    let rows = store::notification_channels::list(&state.pool, tenant.org_id, page.after, i64::from(page.limit) + 1).await?;
    let (rows, next_cursor) = paginate(rows, page.limit, |c| (c.created_at, c.id));
    Ok(Json(ChannelPage { data: rows.iter().map(ChannelView::from).collect(), next_cursor }))
}

async fn find(db: impl sqlx::PgExecutor<'_>, tenant: &Tenant, id: Uuid) -> Result<Channel, Problem> {
    store::notification_channels::get(db, tenant.org_id, id).await?.ok_or_else(|| Problem::not_found("notification channel"))
}

/// Get a notification channel.
///
/// Its kind, message format, target (a webhook URL shown masked), events and whether it is on.
#[utoipa::path(get, path = "/api/v1/notification-channels/{id}", tag = "alerts", operation_id = "getNotificationChannel", params(("id" = Uuid, Path, description = "Channel id")),
    responses((status = 200, description = "The channel", body = ChannelView, example = json!(crate::v1::examples::channel()))),
    security(("api_key" = [])))]
pub async fn get(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>) -> Result<Json<ChannelView>, Problem> {
    Ok(Json(ChannelView::from(&find(&state.pool, &tenant, id).await?)))
}

/// Update a notification channel.
///
/// Changes its name, target, events or enabled state; fields left out stay as they are, and its
/// kind cannot change.
#[utoipa::path(patch, path = "/api/v1/notification-channels/{id}", tag = "alerts", operation_id = "updateNotificationChannel", params(("id" = Uuid, Path, description = "Channel id")), request_body(content = ChannelPatch, example = json!(crate::v1::examples::channel_patch())),
    responses((status = 200, description = "The updated channel", body = ChannelView, example = json!(crate::v1::examples::channel_updated()))),
    security(("api_key" = [])))]
pub async fn update(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>, ApiJson(patch): ApiJson<ChannelPatch>) -> Result<Json<ChannelView>, Problem> {
    let channel = update_channel(&state.pool, tenant.org_id, id, &patch).await?;
    Ok(Json(ChannelView::from(&channel)))
}

/// Applies `patch` to a channel of `org_id` through the same validation as a new one: the API's
/// update and the dashboard's edit form. Another organization's channel is not found.
pub async fn update_channel(pool: &sqlx::PgPool, org_id: Uuid, id: Uuid, patch: &ChannelPatch) -> Result<Channel, Problem> {
    let mut tx = pool.begin().await?;
    let current = store::notification_channels::get(&mut *tx, org_id, id).await?.ok_or_else(|| Problem::not_found("notification channel"))?;
    let kind = current.target.kind();
    let events = patch.events.clone().unwrap_or_else(|| current.events.names().into_iter().map(str::to_owned).collect());
    let v = validate(
        patch.name.as_deref().or(current.name.as_deref()),
        kind,
        patch.target.as_deref().unwrap_or(current.target.as_str()),
        Some(&events),
    )?;
    let fields = ChannelFields { name: v.name.as_deref(), target: &v.target, events: &v.events, enabled: patch.enabled.unwrap_or(current.enabled) };
    let channel = store::notification_channels::update(&mut *tx, org_id, id, &fields).await?.ok_or_else(|| Problem::not_found("notification channel"))?;
    tx.commit().await?;
    tracing::info!(%org_id, channel_id = %id, "notification channel updated");
    Ok(channel)
}

/// Delete a notification channel.
///
/// Its unsent messages go with it, and it drops out of the jobs' channel lists that name it.
#[utoipa::path(delete, path = "/api/v1/notification-channels/{id}", tag = "alerts", operation_id = "deleteNotificationChannel", params(("id" = Uuid, Path, description = "Channel id")),
    responses((status = 204, description = "Deleted")),
    security(("api_key" = [])))]
pub async fn delete(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>) -> Result<StatusCode, Problem> {
    if store::notification_channels::delete(&state.pool, tenant.org_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::not_found("notification channel"))
    }
}

/// Test a notification channel.
///
/// Sends a test message now and says what happened: the dispatcher sends it like any alert (so
/// this tests the real path), and the answer waits up to 15 s for the outcome (not at all when
/// no dispatcher is running).
#[utoipa::path(post, path = "/api/v1/notification-channels/{id}/test", tag = "alerts", operation_id = "testNotificationChannel", params(("id" = Uuid, Path, description = "Channel id")),
    responses(
        (status = 200, description = "Sent, or failed: what the endpoint answered", body = TestResult, example = json!(crate::v1::examples::test_sent())),
        (status = 202, description = "Not sent within 15 s; it is still queued", body = TestResult, example = json!(crate::v1::examples::test_pending())),
    ),
    security(("api_key" = [])))]
pub async fn test(State(state): State<AppState>, tenant: Tenant, ApiPath(id): ApiPath<Uuid>) -> Result<(StatusCode, Json<TestResult>), Problem> {
    let (code, result) = send_test(&state.pool, tenant.org_id, id).await?;
    Ok((code, Json(result)))
}

/// Queues a test message to channel `id` of `org_id` and waits (up to [`TEST_WAIT`], not at all
/// without a dispatcher) for its outcome: 200 when answered, 202 while still queued.
pub async fn send_test(pool: &sqlx::PgPool, org_id: Uuid, id: Uuid) -> Result<(StatusCode, TestResult), Problem> {
    let now = Utc::now();
    let send = store::outbox::request_test(pool, org_id, id, now).await?.ok_or_else(|| Problem::not_found("notification channel"))?;
    // with no dispatcher alive nothing will send it soon: say so at once instead of waiting
    let dispatchers = store::status::scheduler(pool, now).await?.instances;
    let wait = if dispatchers > 0 { TEST_WAIT } else { Duration::ZERO };
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let s = store::outbox::state(pool, org_id, send).await?.ok_or_else(|| Problem::not_found("test message"))?;
        // (a test message is tried once: it ends sent or failed)
        let answered = s.status != SendStatus::Pending;
        if answered || tokio::time::Instant::now() >= deadline {
            let code = if answered { StatusCode::OK } else { StatusCode::ACCEPTED };
            return Ok((code, TestResult { id: send, status: s.status, attempts: s.attempts, response_status: s.response_status, error: s.last_error }));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_masked_and_addresses_are_not() {
        let slack = ChannelTarget::parse(ChannelKind::Webhook, "https://hooks.slack.com/services/T0/B0/secretXYZW").unwrap();
        assert_eq!(masked(&slack), "https://hooks.slack.com/…XYZW");
        let email = ChannelTarget::parse(ChannelKind::Email, "ops@example.com").unwrap();
        assert_eq!(masked(&email), "ops@example.com");
    }

    #[test]
    fn validation_reports_every_field() {
        let events = vec!["job.exploded".to_owned()];
        let p = validate(Some(""), ChannelKind::Email, "nope", Some(&events)).unwrap_err();
        let fields: Vec<&str> = p.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["name", "target", "events"]);
        assert!(validate(None, ChannelKind::Webhook, "https://example.com/a", None).is_ok());
    }
}
