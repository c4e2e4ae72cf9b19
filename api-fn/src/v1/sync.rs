//! `PUT /api/v1/sync`: declarative jobs. The body is the full desired set of jobs, each with a
//! client-chosen `key`; in one transaction the jobs with a key are created, updated and deleted
//! to match, and the response lists what was created, updated, deleted and left unchanged.
//! Jobs without a key (made by hand) are never touched. `?dry_run=true` reports the same lists
//! and changes nothing. Concurrent syncs of one organization run one after the other (the
//! organization row is locked).

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use domain::job::{JobDraft, JobSpec};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Tenant;
use super::extract::{ApiJson, ApiQuery};
use super::job_rules;
use super::job_schema::JobInput;
use crate::AppState;
use crate::problem::{FieldProblem, Problem};

/// Most jobs one sync may declare.
pub const MAX_SYNC_JOBS: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    pub jobs: Vec<JobDraft>,
}

/// The desired set of jobs; every job needs a `key`, unique within the set.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = SyncRequest)]
#[serde(deny_unknown_fields)]
pub struct SyncInput {
    #[schema(max_items = 1000)]
    pub jobs: Vec<JobInput>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// Report what would change, change nothing.
    pub dry_run: Option<bool>,
}

/// One job the sync touched (or would touch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SyncItem {
    pub key: String,
    /// The job's id; null for a creation in a dry run.
    pub id: Option<Uuid>,
}

/// What the sync changed, each list ordered by key.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct SyncReport {
    pub dry_run: bool,
    pub created: Vec<SyncItem>,
    pub updated: Vec<SyncItem>,
    pub deleted: Vec<SyncItem>,
    pub unchanged: Vec<SyncItem>,
}

/// Sync jobs declaratively.
///
/// Makes the organization's jobs that have a `key` match the desired set in one transaction:
/// creates, updates and deletes them, and reports what was created, updated, deleted and left
/// unchanged. Jobs without a key are never touched; `dry_run=true` changes nothing.
#[utoipa::path(put, path = "/api/v1/sync", tag = "jobs", operation_id = "syncJobs", request_body(content = SyncInput, example = json!(crate::v1::examples::sync_request())), params(SyncQuery),
    responses(
        (status = 200, description = "What changed (or would change, in a dry run)", body = SyncReport, example = json!(crate::v1::examples::sync_report())),
        (status = 403, description = "The result would pass the plan's job limit", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::job_limit_problem())),
        (status = 409, description = "Another job was given one of the declared keys while the sync ran; nothing changed", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::key_conflict_problem())),
    ),
    security(("api_key" = [])))]
pub async fn sync(
    State(state): State<AppState>,
    tenant: Tenant,
    ApiQuery(q): ApiQuery<SyncQuery>,
    ApiJson(req): ApiJson<SyncRequest>,
) -> Result<Json<SyncReport>, Problem> {
    let dry_run = q.dry_run.unwrap_or(false);
    if req.jobs.len() > MAX_SYNC_JOBS {
        return Err(Problem::invalid_field("jobs", "too_many_jobs", format!("a sync declares at most {MAX_SYNC_JOBS} jobs")));
    }
    check_keys(&req.jobs)?;
    let now = Utc::now();
    let mut tx = state.pool.begin().await?;
    let org = store::organizations::lock(&mut *tx, tenant.org_id).await?.ok_or_else(|| Problem::unauthorized("organization no longer exists"))?;
    let existing = store::jobs::all(&mut *tx, tenant.org_id).await?;
    let by_key: HashMap<&str, &store::jobs::Job> =
        existing.iter().filter_map(|j| j.spec.key.as_ref().map(|k| (k.as_str(), j))).collect();

    // Validate everything first, reporting every field of every job.
    let mut errors: Vec<FieldProblem> = Vec::new();
    let mut desired: BTreeMap<String, JobSpec> = BTreeMap::new();
    let mut listing_channels = Vec::new();
    for (i, draft) in req.jobs.iter().enumerate() {
        let key = draft.key.clone().unwrap_or_default();
        let previous = by_key.get(key.as_str()).map(|j| &j.spec);
        match job_rules::validate(draft, org.tier, now, previous, &format!("jobs[{i}].")) {
            Ok(mut spec) => {
                job_rules::seal(&state, tenant.org_id, &mut spec, previous).await?;
                if !spec.alerts.channel_ids().is_empty() {
                    listing_channels.push((draft, spec.clone(), format!("jobs[{i}].")));
                }
                desired.insert(key, spec);
            }
            Err(p) => errors.extend(p.errors),
        }
    }
    let listing: Vec<(&JobDraft, &JobSpec, String)> = listing_channels.iter().map(|(d, s, p)| (*d, s, p.clone())).collect();
    errors.extend(job_rules::unknown_channels(&mut *tx, tenant.org_id, &listing).await?);
    if !errors.is_empty() {
        return Err(Problem::validation(format!("{} fields are invalid; see errors", errors.len()), errors));
    }

    let mut report = SyncReport { dry_run, ..SyncReport::default() };
    let to_delete: Vec<&store::jobs::Job> = by_key.iter().filter(|(k, _)| !desired.contains_key(**k)).map(|(_, j)| *j).collect();
    let creating = desired.keys().filter(|k| !by_key.contains_key(k.as_str())).count() as i64;
    if let Some(max) = org.tier.limits().max_jobs {
        let after = existing.len() as i64 - to_delete.len() as i64 + creating;
        if after > i64::from(max) {
            return Err(Problem::job_limit(org.tier, max, existing.len() as i64, after - existing.len() as i64));
        }
    }
    for job in to_delete {
        let key = job.spec.key.as_ref().map(|k| k.as_str().to_owned()).unwrap_or_default();
        if !dry_run {
            store::jobs::delete(&mut *tx, tenant.org_id, job.id, now).await?;
        }
        report.deleted.push(SyncItem { key, id: Some(job.id) });
    }
    for (key, spec) in &desired {
        match by_key.get(key.as_str()) {
            Some(old) if old.spec == *spec => report.unchanged.push(SyncItem { key: key.clone(), id: Some(old.id) }),
            Some(old) => {
                if !dry_run {
                    job_rules::apply_update(&mut tx, old, spec, now).await?;
                }
                report.updated.push(SyncItem { key: key.clone(), id: Some(old.id) });
            }
            None => {
                let id = if dry_run {
                    None
                } else {
                    let id = job_rules::new_id();
                    // A job given this key since the sync read the organization's jobs (a PATCH
                    // does not take the organization's lock) wins; the sync says so and changes nothing.
                    store::jobs::insert(&mut *tx, tenant.org_id, id, spec, job_rules::first_cursor(spec, now))
                        .await
                        .map_err(|e| {
                            if e.is_conflict_on("jobs_org_key") {
                                Problem::conflict(format!("another job was given the key {key:?} while this sync ran; nothing was changed, run the sync again"))
                            } else {
                                Problem::from(e)
                            }
                        })?;
                    Some(id)
                };
                report.created.push(SyncItem { key: key.clone(), id });
            }
        }
    }
    report.deleted.sort_by(|a, b| a.key.cmp(&b.key));
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
        tracing::info!(org_id = %tenant.org_id, created = report.created.len(), updated = report.updated.len(),
            deleted = report.deleted.len(), unchanged = report.unchanged.len(), "jobs synced");
    }
    Ok(Json(report))
}

/// Every declared job has a key, and no key appears twice.
fn check_keys(jobs: &[JobDraft]) -> Result<(), Problem> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut errors = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        match job.key.as_deref() {
            None => errors.push(FieldProblem {
                field: format!("jobs[{i}].key"),
                code: "key_required".into(),
                message: "every job in a sync needs a key that identifies it across syncs".into(),
            }),
            Some(k) => {
                if let Some(first) = seen.insert(k, i) {
                    errors.push(FieldProblem {
                        field: format!("jobs[{i}].key"),
                        code: "key_duplicate".into(),
                        message: format!("the key {k:?} is also used by jobs[{first}]"),
                    });
                }
            }
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(Problem::validation(format!("{} keys are missing or repeated", errors.len()), errors)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_present_and_unique() {
        let job = |key: Option<&str>| JobDraft { key: key.map(str::to_owned), ..JobDraft::default() };
        assert!(check_keys(&[job(Some("a")), job(Some("b"))]).is_ok());
        let p = check_keys(&[job(Some("a")), job(None), job(Some("a"))]).unwrap_err();
        let codes: Vec<(&str, &str)> = p.errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(codes, [("jobs[1].key", "key_required"), ("jobs[2].key", "key_duplicate")]);
    }
}
