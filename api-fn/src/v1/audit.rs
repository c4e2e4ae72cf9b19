//! `GET /api/v1/audit-log`: who changed the organization's credentials, and when, newest first.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use domain::audit::{Actor, AuditAction};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Tenant;
use super::extract::ApiQuery;
use super::pagination::{PageQuery, paginate};
use crate::AppState;
use crate::problem::Problem;

/// Who did it: a signed-in user, a request made with an API key, or Prikke itself.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActorView {
    #[schema(title = "UserActor")]
    User { id: Uuid },
    #[schema(title = "ApiKeyActor")]
    ApiKey { id: Uuid },
    #[schema(title = "SystemActor")]
    System,
}

/// One change, by whom and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub action: AuditAction,
    pub actor: ActorView,
    /// What it was done to, e.g. `api_key`.
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// What changed (names, prefixes, expiries; never a secret).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// A page of audit log entries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// At most `limit` entries.
    pub data: Vec<AuditEntryView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// List the audit log.
///
/// Who changed the organization's credentials, members and plan, and when: newest first, a page
/// at a time (pass `next_cursor` as `cursor`).
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "account", operation_id = "listAuditLog", params(PageQuery),
    responses((status = 200, description = "A page of entries", body = AuditPage, example = json!(crate::v1::examples::audit_page()))),
    security(("api_key" = [])))]
pub async fn list(State(state): State<AppState>, tenant: Tenant, ApiQuery(q): ApiQuery<PageQuery>) -> Result<Json<AuditPage>, Problem> {
    let page = q.parse()?;
    // entries are numbered; the cursor carries the number in the id slot (it stays opaque)
    let before = page.after.map(|(_, id)| id.as_u64_pair().1 as i64);
    let rows = store::audit::list(&state.pool, tenant.org_id, before, i64::from(page.limit) + 1).await?;
    let (rows, next_cursor) = paginate(rows, page.limit, |e| (e.created_at, Uuid::from_u64_pair(0, e.id as u64)));
    let data = rows
        .into_iter()
        .map(|e| {
            let (target_type, target_id) = e.target.unzip();
            AuditEntryView {
                action: e.action,
                actor: match e.actor {
                    Actor::User(id) => ActorView::User { id },
                    Actor::ApiKey(id) => ActorView::ApiKey { id },
                    Actor::System => ActorView::System,
                },
                target_type,
                target_id,
                details: e.details,
                created_at: e.created_at,
            }
        })
        .collect();
    Ok(Json(AuditPage { data, next_cursor }))
}
