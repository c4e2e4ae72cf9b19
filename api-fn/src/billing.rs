//! `POST /billing/webhook`: subscription events from the billing provider (Lemon Squeezy) set
//! the organization's plan. The body must carry `X-Signature`, the hex HMAC-SHA256 of the raw
//! body under `PRIKKE_BILLING_WEBHOOK_SECRET`; anything else is a 401 and changes nothing. Each
//! event is kept once (its `meta.event_id`, or the SHA-256 of its body): a replay or a repeat is
//! answered 200 and changes nothing. The organization is the checkout's
//! `meta.custom_data.org_id`. The rules are `domain::billing`'s; a downgrade pauses the jobs the
//! new plan does not allow (never deletes), an upgrade resumes them, and every plan change is in
//! the audit log.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use domain::audit::{Actor, AuditAction};
use domain::billing::{PlanChange, RunningJob, downgrade_pauses, plan_change, signature_valid};
use domain::tier::Tier;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::AppState;
use crate::problem::Problem;

/// What the webhook did.
#[derive(Debug, Serialize, PartialEq)]
pub struct BillingReceived {
    pub received: bool,
    /// The event was seen before: nothing changed.
    pub duplicate: bool,
    /// The organization's plan afterwards (absent when the event names no organization of ours).
    pub tier: Option<Tier>,
    /// Jobs the new plan paused, and jobs it resumed.
    pub paused_jobs: Vec<Uuid>,
    pub resumed_jobs: Vec<Uuid>,
}

pub async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<(StatusCode, Json<BillingReceived>), Problem> {
    let Some(secret) = &state.config.billing_webhook_secret else {
        tracing::error!("a billing event arrived but PRIKKE_BILLING_WEBHOOK_SECRET is not set; it was refused (the provider retries)");
        return Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Unavailable", "billing is not configured here"));
    };
    let signature = headers.get("x-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !signature_valid(secret.expose().as_bytes(), &body, signature) {
        tracing::warn!(bytes = body.len(), "billing webhook refused: bad or missing X-Signature");
        return Err(Problem::unauthorized("the X-Signature header does not sign this body"));
    }
    let event: serde_json::Value = serde_json::from_slice(&body).map_err(|e| Problem::bad_request(format!("the body is not JSON: {e}")))?;
    let meta = &event["meta"];
    let name = meta["event_name"].as_str().ok_or_else(|| Problem::bad_request("meta.event_name is missing"))?;
    let event_id = match meta["event_id"].as_str() {
        Some(id) => id.to_owned(),
        None => format!("sha256:{}", Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect::<String>()),
    };
    let status = event["data"]["attributes"]["status"].as_str();
    let org_id = meta["custom_data"]["org_id"].as_str().and_then(|s| Uuid::parse_str(s).ok());

    let now = Utc::now();
    let mut tx = state.pool.begin().await?;
    let org = match org_id {
        Some(id) => store::organizations::lock(&mut *tx, id).await?,
        None => None,
    };
    let mut out = BillingReceived { received: true, duplicate: false, tier: org.as_ref().map(|o| o.tier), paused_jobs: vec![], resumed_jobs: vec![] };
    if !store::billing::record_event(&mut *tx, &event_id, name, org.as_ref().map(|o| o.id), &event).await? {
        tracing::info!(event = name, event_id, "billing event seen before; nothing changed");
        out.duplicate = true;
        return Ok((StatusCode::OK, Json(out)));
    }
    let Some(org) = org else {
        tx.commit().await?;
        tracing::warn!(event = name, event_id, "billing event names no organization of ours (meta.custom_data.org_id); kept, nothing changed");
        return Ok((StatusCode::OK, Json(out)));
    };
    if let PlanChange::Set(tier) = plan_change(name, status)
        && tier != org.tier
    {
        store::organizations::set_tier(&mut *tx, org.id, tier).await?;
        let running: Vec<RunningJob<Uuid>> = store::jobs::enabled_oldest_first(&mut *tx, org.id)
            .await?
            .iter()
            .map(|j| RunningJob { id: j.id, interval_minutes: j.spec.interval_minutes })
            .collect();
        let pauses = downgrade_pauses(&running, tier);
        store::jobs::pause_for_plan(&mut *tx, org.id, &pauses, now).await?;
        out.paused_jobs = pauses.iter().map(|p| p.0).collect();
        // what the new plan allows runs again, oldest first, while there is room
        let limits = tier.limits();
        let mut room = limits.max_jobs.map(|max| max.saturating_sub((running.len() - pauses.len()) as u32));
        for job in store::jobs::paused_for_plan(&mut *tx, org.id).await? {
            let fast = job.spec.interval_minutes.is_some_and(|m| m < limits.min_interval_minutes);
            if fast || out.paused_jobs.contains(&job.id) || room == Some(0) {
                continue;
            }
            store::jobs::set_enabled(&mut *tx, org.id, job.id, true, job.spec.schedule.next_after(now), now).await?;
            out.resumed_jobs.push(job.id);
            room = room.map(|r| r - 1);
        }
        let details = serde_json::json!({"from": org.tier, "to": tier, "event": name, "event_id": event_id,
                                         "paused_jobs": out.paused_jobs, "resumed_jobs": out.resumed_jobs});
        store::audit::record(&mut *tx, org.id, Actor::System, AuditAction::TierChanged, Some(("organization", &org.id.to_string())), details).await?;
        // the owners are told, with what the change paused or resumed
        let mut lead = format!("{}'s plan is now {} (it was {}).", org.name, tier.display_name(), org.tier.display_name());
        if !out.paused_jobs.is_empty() {
            lead.push_str(&format!(" {} job(s) the {} plan does not run are paused, not deleted; upgrading resumes them.", out.paused_jobs.len(), tier.display_name()));
        }
        if !out.resumed_jobs.is_empty() {
            lead.push_str(&format!(" {} job(s) paused by the plan run again.", out.resumed_jobs.len()));
        }
        let link = format!("{}/app/settings", state.config.public_url);
        let subject = format!("{} is on the {} plan", org.name, tier.display_name());
        for owner in store::users::members(&mut *tx, org.id).await?.iter().filter(|m| m.role == domain::account::Role::Owner) {
            crate::app::mail::send(&mut tx, Some(org.id), domain::account::MailKind::PlanChanged, &owner.user.email, &subject, &lead, &link, "See the plan", "You get this because you own the organization.")
                .await
                .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", "the owners' notice could not be queued"))?;
        }
        tracing::info!(org_id = %org.id, from = %org.tier, to = %tier, event = name, paused = out.paused_jobs.len(), resumed = out.resumed_jobs.len(), "plan changed");
        out.tier = Some(tier);
    }
    tx.commit().await?;
    Ok((StatusCode::OK, Json(out)))
}
