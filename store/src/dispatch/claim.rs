//! Claiming due executions in one statement (`FOR UPDATE SKIP LOCKED`), charging first attempts
//! to the monthly quota in the same transaction, and handing rows back: `release` at shutdown
//! for runs never sent, `rescue_expired` for leases whose worker died.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::execution::{MessageId, Source};
use domain::retry::RetryPolicy;
use domain::tier::Tier;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::outcomes::{AttemptRecord, Finished, Outcome, record};
use crate::error::StoreResult;
use crate::job_columns::retry_of;
use domain::execution::ExecutionStatus;

/// A claimed execution, decoded: everything needed to deliver it and to record the outcome. The
/// request stays the strings that were validated when it was stored (URL and headers are checked
/// again where they are used, by the deliverer); policies and names are domain values.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub org_id: Uuid,
    pub job_id: Option<Uuid>,
    pub source: Source,
    pub message_id: MessageId,
    pub method: String,
    pub url: String,
    pub headers: sqlx::types::Json<Vec<(String, String)>>,
    pub body: Option<String>,
    pub timeout: Duration,
    /// The attempt this claim starts (1 for a first delivery).
    pub attempt: i16,
    pub retry: RetryPolicy,
    pub scheduled_for: DateTime<Utc>,
    /// When the attempt may be sent (≤ the claim's horizon; may be slightly in the future).
    pub run_at: DateTime<Utc>,
    pub priority: i16,
    pub skip_if_running: bool,
    pub tier: Tier,
    /// The capability of the run's completion URL (jobs with a completion window).
    pub completion_token: Option<String>,
    /// Until when this worker holds the run; past it, the rescuer may hand it to another.
    pub lease_expires_at: DateTime<Utc>,
}

/// A claimed execution that must not be sent: its row does not decode (a bad retry policy,
/// source, tier or timeout), or its attempts are used up.
struct Unrunnable {
    id: Uuid,
    attempt: i16,
    reason: String,
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    /// How many runs the claim found due (the same in every row).
    due: i64,
    id: Uuid,
    org_id: Uuid,
    job_id: Option<Uuid>,
    source: String,
    message_id: Uuid,
    method: String,
    url: String,
    headers: sqlx::types::Json<Vec<(String, String)>>,
    body: Option<String>,
    timeout_secs: i32,
    attempt: i16,
    max_attempts: i16,
    retry_base_delay_secs: i32,
    retry_max_delay_secs: i32,
    scheduled_for: DateTime<Utc>,
    run_at: DateTime<Utc>,
    priority: i16,
    skip_if_running: bool,
    tier: String,
    completion_token: Option<String>,
    lease_expires_at: DateTime<Utc>,
}

impl ClaimedRow {
    /// Enums and integers only: the claim path stays cheap.
    fn decode(self) -> Result<Claimed, Unrunnable> {
        if self.attempt > attempt_cap(self.max_attempts) {
            // Only a run put back without being finished gets here (the rescuer finishes a run
            // whose last allowed attempt was lost): never an attempt beyond the cap.
            return Err(Unrunnable {
                id: self.id,
                attempt: self.attempt,
                reason: format!("not delivered: all {} attempts are used up", attempt_cap(self.max_attempts)),
            });
        }
        let decoded = (|| {
            Ok::<_, String>(Claimed {
                source: self.source.parse().map_err(|e: domain::UnknownName| e.to_string())?,
                tier: self.tier.parse().map_err(|e: domain::tier::UnknownTier| e.to_string())?,
                retry: retry_of(self.max_attempts, self.retry_base_delay_secs, self.retry_max_delay_secs)?,
                timeout: u64::try_from(self.timeout_secs)
                    .ok()
                    .filter(|s| *s > 0)
                    .map(Duration::from_secs)
                    .ok_or_else(|| format!("timeout of {} s", self.timeout_secs))?,
                id: self.id,
                org_id: self.org_id,
                job_id: self.job_id,
                message_id: MessageId::new(self.message_id),
                method: self.method,
                url: self.url,
                headers: self.headers,
                body: self.body,
                attempt: self.attempt,
                scheduled_for: self.scheduled_for,
                run_at: self.run_at,
                priority: self.priority,
                skip_if_running: self.skip_if_running,
                completion_token: self.completion_token,
                lease_expires_at: self.lease_expires_at,
            })
        })();
        let (id, attempt) = (self.id, self.attempt);
        decoded.map_err(|what| Unrunnable {
            id,
            attempt,
            reason: format!("not delivered: the run's stored settings cannot be read ({what})"),
        })
    }
}

/// The fewest attempts a run gets when its workers die under it: a lost attempt is our failure,
/// not the target's, so a single-attempt job (the cron default) is still tried again after a
/// crash — but not forever: a run whose delivery kills its worker (by its size, say) would kill
/// every worker in turn.
pub const MIN_ATTEMPTS_AFTER_LOST_WORKER: i16 = 3;

/// The most attempts a run may start: its policy's, or [`MIN_ATTEMPTS_AFTER_LOST_WORKER`] when
/// workers died under it.
pub fn attempt_cap(max_attempts: i16) -> i16 {
    max_attempts.max(MIN_ATTEMPTS_AFTER_LOST_WORKER)
}

/// The first day of `now`'s month (UTC): the usage period.
pub fn usage_month(now: DateTime<Utc>) -> NaiveDate {
    NaiveDate::from_ymd_opt(now.year(), now.month(), 1).expect("first of the month exists")
}

/// The claim, in one statement: pick the due runs in claim order by `executions_due_idx`
/// (skipping rows other workers hold), weigh them (their request-body length as stored, without
/// reading a body kept out of line, plus [`RUN_OVERHEAD_BYTES`], in whole KiB: [`held_kib`]),
/// keep those whose running weight stays within `$6` KiB (or the first, when `$7`), lease them by
/// primary key and return them with their organization's tier and how many were due (`$4` at
/// most). The window sorts only the picked rows (at most `$4`), in memory.
pub(crate) const CLAIM_SQL: &str = "WITH locked AS MATERIALIZED (
         SELECT id, priority, run_at, ((coalesce(octet_length(body), 0) + 2047) / 1024)::bigint AS kib FROM executions
          WHERE status = 'pending' AND run_at <= $3
          ORDER BY priority DESC, run_at
          LIMIT $4
          FOR UPDATE SKIP LOCKED
     ), weighed AS (
         SELECT id, sum(kib) OVER w AS upto, row_number() OVER w AS n FROM locked
         WINDOW w AS (ORDER BY priority DESC, run_at, id)
     )
     UPDATE executions e
        SET status = 'running', attempt = e.attempt + 1, leased_by = $1,
            lease_expires_at = greatest(e.run_at, $2) + make_interval(secs => e.timeout_secs) + $5
       FROM organizations o
      WHERE e.id = ANY(ARRAY(SELECT id FROM weighed WHERE upto <= $6 OR (n = 1 AND $7))) AND o.id = e.org_id
     RETURNING e.id, e.org_id, e.job_id, e.source, e.message_id, e.method, e.url, e.headers, e.body,
               e.timeout_secs, e.attempt, e.max_attempts, e.retry_base_delay_secs, e.retry_max_delay_secs,
               e.scheduled_for, e.run_at, e.priority, e.skip_if_running, o.tier, e.completion_token, e.lease_expires_at,
               (SELECT count(*) FROM locked) AS due";

/// The weight of the first run due, when a claim within a budget found none that fits.
const FIRST_DUE_KIB_SQL: &str = "SELECT ((coalesce(octet_length(body), 0) + 2047) / 1024)::bigint FROM executions
          WHERE status = 'pending' AND run_at <= $1 ORDER BY priority DESC, run_at LIMIT 1";

/// What a held run weighs against a worker's byte budget beyond its request body: the run's
/// other fields and its task.
pub const RUN_OVERHEAD_BYTES: i64 = 1024;

/// What a held run with a request body of `body_bytes` weighs, in whole KiB.
pub fn held_kib(body_bytes: i64) -> i64 {
    (body_bytes.max(0) + RUN_OVERHEAD_BYTES + 1023) / 1024
}

/// Claims up to `limit` pending executions with `run_at <= horizon` (highest priority first, then
/// most overdue), leasing them to `me` until `max(run_at, now) + timeout + lease_margin`.
///
/// Runs whose organization has used its monthly quota are recorded as skipped in the same
/// transaction (counted in `usage_counters.over_quota`) and are not returned. Only first attempts
/// are charged: retries and rescued re-deliveries are part of the execution already paid for.
/// A row that does not decode, or whose attempts are used up, is never delivered and never
/// charged: it is recorded as failed, with why, in the same transaction (and logged once, here).
pub async fn claim(
    tx: &mut PgConnection,
    me: &str,
    now: DateTime<Utc>,
    horizon: DateTime<Utc>,
    limit: i64,
    lease_margin: chrono::Duration,
) -> StoreResult<Vec<Claimed>> {
    Ok(claim_within(tx, me, now, horizon, limit, i64::MAX, true, lease_margin).await?.0)
}

/// [`claim`] within a budget: runs are taken in claim order while their weight ([`held_kib`])
/// adds up to at most `budget_kib`; when not even the first fits, it is taken anyway if
/// `first_anyway` (a worker holding nothing must not leave a run larger than its whole budget
/// behind). Also says whether the budget cut the claim short (more runs were due).
pub async fn claim_within(
    tx: &mut PgConnection,
    me: &str,
    now: DateTime<Utc>,
    horizon: DateTime<Utc>,
    limit: i64,
    budget_kib: i64,
    first_anyway: bool,
    lease_margin: chrono::Duration,
) -> StoreResult<(Vec<Claimed>, bool)> {
    let rows: Vec<ClaimedRow> = sqlx::query_as(CLAIM_SQL)
        // Planned afresh every time (an unnamed statement), never from a cached generic plan: one
        // made while the queue was empty costs every index the same, and picked a full scan of
        // `executions_org_idx` to find the 200 picked ids (70 ms at 100,000 rows instead of < 1).
        .persistent(false)
        .bind(me)
        .bind(now)
        .bind(horizon)
        .bind(limit)
        .bind(lease_margin)
        .bind(budget_kib)
        .bind(first_anyway)
        .fetch_all(&mut *tx)
        .await?;
    let cut = match rows.first() {
        Some(first) => first.due > rows.len() as i64,
        // none fitted, or none was due (or every due run was another worker's): cut short only
        // when the first due run is heavier than the budget
        None if !first_anyway => {
            let first: Option<i64> = sqlx::query_scalar(FIRST_DUE_KIB_SQL).bind(horizon).fetch_optional(&mut *tx).await?;
            first.is_some_and(|kib| kib > budget_kib)
        }
        None => false,
    };
    let mut claimed = Vec::with_capacity(rows.len());
    let mut unrunnable = Vec::new();
    for row in rows {
        match row.decode() {
            Ok(run) => claimed.push(run),
            Err(bad) => unrunnable.push(bad),
        }
    }
    if !unrunnable.is_empty() {
        fail_unrunnable(tx, me, unrunnable, now).await?;
    }
    if claimed.is_empty() {
        return Ok((claimed, cut));
    }
    // RETURNING does not keep the pick's order; restore it (the quota skips the tail).
    claimed.sort_by(|a: &Claimed, b: &Claimed| b.priority.cmp(&a.priority).then(a.run_at.cmp(&b.run_at)).then(a.id.cmp(&b.id)));
    let over = charge_quota(tx, &claimed, now).await?;
    if !over.is_empty() {
        claimed.retain(|c| !over.contains(&c.id));
    }
    Ok((claimed, cut))
}

/// Records claimed runs that must not be sent as failed (with their alert, as any final failure).
async fn fail_unrunnable(tx: &mut PgConnection, me: &str, runs: Vec<Unrunnable>, now: DateTime<Utc>) -> StoreResult<()> {
    let outcomes: Vec<Outcome> = runs
        .into_iter()
        .map(|r| {
            tracing::error!(execution_id = %r.id, attempt = r.attempt, reason = %r.reason, "a claimed run cannot be sent; it is recorded as failed");
            Outcome::Finished(Finished {
                record: AttemptRecord::never_sent(r.id, r.attempt, now, Some(r.reason)),
                status: ExecutionStatus::Failed,
                reason: None,
            })
        })
        .collect();
    record(tx, me, &outcomes).await?;
    Ok(())
}

/// Charges first attempts per organization; returns the ids that exceed the quota (now skipped).
async fn charge_quota(tx: &mut PgConnection, claimed: &[Claimed], now: DateTime<Utc>) -> StoreResult<Vec<Uuid>> {
    let mut per_org: Vec<(Uuid, i64, Tier)> = Vec::new();
    for c in claimed.iter().filter(|c| c.attempt == 1) {
        match per_org.iter_mut().find(|(org, _, _)| *org == c.org_id) {
            Some(entry) => entry.1 += 1,
            None => per_org.push((c.org_id, 1, c.tier)),
        }
    }
    if per_org.is_empty() {
        return Ok(Vec::new());
    }
    // One lock order for every claimer: two transactions charging the same organizations in
    // opposite orders would deadlock on the counter rows.
    per_org.sort_by_key(|p| p.0);
    let month = usage_month(now);
    let orgs: Vec<Uuid> = per_org.iter().map(|p| p.0).collect();
    let counts: Vec<i64> = per_org.iter().map(|p| p.1).collect();
    let totals: Vec<(Uuid, i64)> = sqlx::query_as(
        "INSERT INTO usage_counters (org_id, month, executions)
         SELECT * FROM unnest($1::uuid[], array_fill($2::date, ARRAY[cardinality($1)]), $3::bigint[])
         ON CONFLICT (org_id, month) DO UPDATE SET executions = usage_counters.executions + EXCLUDED.executions
         RETURNING org_id, executions",
    )
    .bind(&orgs)
    .bind(month)
    .bind(&counts)
    .fetch_all(&mut *tx)
    .await?;

    let mut over_ids = Vec::new();
    for (org, total) in totals {
        let Some(&(_, charged, tier)) = per_org.iter().find(|p| p.0 == org) else { continue };
        let limit = i64::from(tier.limits().monthly_executions);
        let over = (total - limit).clamp(0, charged) as usize;
        if over == 0 {
            continue;
        }
        // The last ones claimed (lowest priority, latest) are the ones that do not fit.
        over_ids.extend(claimed.iter().rev().filter(|c| c.org_id == org && c.attempt == 1).take(over).map(|c| c.id));
    }
    if over_ids.is_empty() {
        return Ok(over_ids);
    }
    sqlx::query(
        "WITH skipped AS (
             UPDATE executions e
                -- not delivered: its payload is not kept either
                SET status = 'skipped', finished_at = $3, lease_expires_at = NULL, leased_by = NULL, body = NULL,
                    status_reason = 'over quota: this month''s execution limit of the ' || initcap(o.tier)
                                    || ' plan is used up; the run was not delivered'
               FROM organizations o
              WHERE e.id = ANY($1) AND o.id = e.org_id
             RETURNING e.org_id
         )
         UPDATE usage_counters u SET executions = u.executions - s.n, over_quota = u.over_quota + s.n
           FROM (SELECT org_id, count(*) AS n FROM skipped GROUP BY org_id) s
          WHERE u.org_id = s.org_id AND u.month = $2",
    )
    .bind(&over_ids)
    .bind(month)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(over_ids)
}

/// Extends this worker's lease of attempt `attempt` of run `id` to `until`, when it still holds
/// it: false when the run is no longer this worker's (its lease expired and it was rescued, or
/// finished), in which case it must not be sent.
pub async fn extend_lease(db: impl PgExecutor<'_>, me: &str, id: Uuid, attempt: i16, until: DateTime<Utc>) -> StoreResult<bool> {
    let extended = sqlx::query(
        "UPDATE executions SET lease_expires_at = greatest(lease_expires_at, $4)
          WHERE id = $2 AND leased_by = $1 AND attempt = $3 AND status = 'running'",
    )
    .bind(me)
    .bind(id)
    .bind(attempt)
    .bind(until)
    .execute(db)
    .await?;
    Ok(extended.rows_affected() == 1)
}

/// Hands back runs this process claimed but never sent (shutdown): pending again, the attempt
/// not counted, the quota charge of a first attempt refunded. Each run is named with the attempt
/// this process holds: a run rescued and claimed again since (by anyone) is not touched.
pub async fn release(db: impl PgExecutor<'_>, me: &str, runs: &[(Uuid, i16)], now: DateTime<Utc>) -> StoreResult<u64> {
    if runs.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = runs.iter().map(|r| r.0).collect();
    let attempts: Vec<i16> = runs.iter().map(|r| r.1).collect();
    let released: i64 = sqlx::query_scalar(
        "WITH released AS (
             UPDATE executions e
                SET status = 'pending', attempt = e.attempt - 1, lease_expires_at = NULL, leased_by = NULL
               FROM unnest($2::uuid[], $4::smallint[]) AS v(id, attempt)
              WHERE e.id = v.id AND e.attempt = v.attempt AND e.leased_by = $1 AND e.status = 'running'
             RETURNING e.org_id, e.attempt
         ), refund AS (
             UPDATE usage_counters u SET executions = greatest(0, u.executions - r.n)
               FROM (SELECT org_id, count(*) AS n FROM released WHERE attempt = 0 GROUP BY org_id) r
              WHERE u.org_id = r.org_id AND u.month = $3
         )
         SELECT count(*) FROM released",
    )
    .bind(me)
    .bind(&ids)
    .bind(usage_month(now))
    .bind(&attempts)
    .fetch_one(db)
    .await?;
    Ok(released as u64)
}

/// What a rescue did: runs put back to be tried again, and runs whose attempts were used up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rescued {
    pub retried: Vec<Uuid>,
    pub failed: Vec<Uuid>,
}

/// Puts back up to `limit` running executions whose lease expired before `now` (their worker
/// died or hung). They run again with the same `message_id` (webhook-id); the lost attempt keeps
/// its number, so history shows that it happened. A run whose lost attempt was its last (see
/// [`attempt_cap`]) is recorded as failed instead (with its alert, as any final failure): a run
/// that kills the worker delivering it (by its size, say) must not go on to kill every worker.
pub async fn rescue_expired(pool: &sqlx::PgPool, now: DateTime<Utc>, limit: i64) -> StoreResult<Rescued> {
    let mut tx = pool.begin().await?;
    let expired: Vec<(Uuid, i16, i16, Option<String>)> = sqlx::query_as(
        "SELECT id, attempt, max_attempts, leased_by FROM executions
          WHERE status = 'running' AND lease_expires_at < $1
          ORDER BY lease_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let (retry, spent): (Vec<_>, Vec<_>) = expired.into_iter().partition(|(_, attempt, max, _)| *attempt < attempt_cap(*max));
    let retry_ids: Vec<Uuid> = retry.iter().map(|r| r.0).collect();
    let retried: Vec<Uuid> = if retry_ids.is_empty() {
        Vec::new()
    } else {
        sqlx::query_scalar(
            "UPDATE executions e
                SET status = 'pending', run_at = $1, lease_expires_at = NULL, leased_by = NULL,
                    error = 'the worker delivering attempt ' || e.attempt || ' stopped (lease of ' || coalesce(e.leased_by, '?') || ' expired); retried'
              WHERE e.id = ANY($2)
             RETURNING e.id",
        )
        .bind(now)
        .bind(&retry_ids)
        .fetch_all(&mut *tx)
        .await?
    };
    // `record` writes only rows leased by the worker it is given: one batch per worker.
    let mut by_worker: Vec<(String, Vec<Outcome>)> = Vec::new();
    for (id, attempt, _, worker) in spent {
        let worker = worker.unwrap_or_default();
        let error = format!(
            "the worker delivering attempt {attempt} stopped (lease of {} expired); no attempts left, so it is not sent again",
            if worker.is_empty() { "?" } else { worker.as_str() }
        );
        tracing::error!(execution_id = %id, attempt, worker = %worker, "a run's last attempt lost its worker; recorded as failed");
        let outcome = Outcome::Finished(Finished { record: AttemptRecord::never_sent(id, attempt, now, Some(error)), status: ExecutionStatus::Failed, reason: None });
        match by_worker.iter_mut().find(|(w, _)| *w == worker) {
            Some((_, batch)) => batch.push(outcome),
            None => by_worker.push((worker, vec![outcome])),
        }
    }
    let mut failed = Vec::new();
    for (worker, batch) in &by_worker {
        record(&mut tx, worker, batch).await?;
        failed.extend(batch.iter().map(|o| match o {
            Outcome::Finished(f) => f.record.id,
            Outcome::Retry { record, .. } => record.id,
        }));
    }
    tx.commit().await?;
    Ok(Rescued { retried, failed })
}
