//! Heartbeat monitors and their pings. The API validates a monitor and computes its next state
//! (status, `alert_at`) from the schedule; these functions store what they are given and read it
//! back per tenant. A ping is found by its token alone (the token is the capability).

use chrono::{DateTime, TimeDelta, Utc};
use domain::alert::AlertKind;
use domain::monitor::{MonitorStatus, PingKind, Rhythm};
use domain::schedule::Schedule;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult, parse_column};
use crate::tenant_rows;

/// When pings are expected, as stored (validated when written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorSchedule {
    /// A five-field cron expression evaluated in an IANA zone.
    Cron { expr: String, timezone: String },
    /// Every `secs` seconds after the last ping.
    Interval { secs: i32 },
}

impl MonitorSchedule {
    /// The rhythm the state machine runs on; `None` for a stored schedule the domain refuses.
    pub fn rhythm(&self) -> Option<Rhythm> {
        match self {
            MonitorSchedule::Cron { expr, timezone } => Schedule::cron(expr, timezone).ok().map(Rhythm::Cron),
            MonitorSchedule::Interval { secs } => Some(Rhythm::Every(TimeDelta::seconds(i64::from(*secs)))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub token: String,
    pub schedule: MonitorSchedule,
    pub grace_secs: i32,
    /// How long a run may take after its start ping before the monitor is down as hung.
    pub max_runtime_secs: Option<i32>,
    pub status: MonitorStatus,
    pub last_ping_at: Option<DateTime<Utc>>,
    pub last_start_at: Option<DateTime<Utc>>,
    pub alert_at: Option<DateTime<Utc>>,
    /// Set by a start ping when there is a max runtime; cleared by the finishing ping.
    pub start_deadline: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct MonitorRow {
    id: Uuid,
    org_id: Uuid,
    name: String,
    token: String,
    schedule_kind: String,
    cron_expr: Option<String>,
    timezone: String,
    interval_secs: Option<i32>,
    grace_secs: i32,
    max_runtime_secs: Option<i32>,
    status: String,
    last_ping_at: Option<DateTime<Utc>>,
    last_start_at: Option<DateTime<Utc>>,
    alert_at: Option<DateTime<Utc>>,
    start_deadline: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, org_id, name, token, schedule_kind, cron_expr, timezone, interval_secs, grace_secs, max_runtime_secs,
        status, last_ping_at, last_start_at, alert_at, start_deadline, created_at, updated_at";

impl TryFrom<MonitorRow> for Monitor {
    type Error = StoreError;
    fn try_from(r: MonitorRow) -> StoreResult<Monitor> {
        let schedule = match (r.schedule_kind.as_str(), r.cron_expr, r.interval_secs) {
            ("cron", Some(expr), _) => MonitorSchedule::Cron { expr, timezone: r.timezone },
            ("interval", _, Some(secs)) => MonitorSchedule::Interval { secs },
            (kind, _, _) => {
                return Err(StoreError::Corrupt { column: "monitors.schedule_kind", value: format!("monitor {}: {kind}", r.id) });
            }
        };
        Ok(Monitor {
            id: r.id,
            org_id: r.org_id,
            name: r.name,
            token: r.token,
            schedule,
            grace_secs: r.grace_secs,
            max_runtime_secs: r.max_runtime_secs,
            status: parse_column("monitors.status", r.status)?,
            last_ping_at: r.last_ping_at,
            last_start_at: r.last_start_at,
            alert_at: r.alert_at,
            start_deadline: r.start_deadline,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn schedule_columns(s: &MonitorSchedule) -> (&'static str, Option<&str>, &str, Option<i32>) {
    match s {
        MonitorSchedule::Cron { expr, timezone } => ("cron", Some(expr.as_str()), timezone.as_str(), None),
        MonitorSchedule::Interval { secs } => ("interval", None, "UTC", Some(*secs)),
    }
}

/// The writable fields of a monitor.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorFields<'a> {
    pub name: &'a str,
    pub schedule: &'a MonitorSchedule,
    pub grace_secs: i32,
    pub max_runtime_secs: Option<i32>,
    pub status: MonitorStatus,
    pub alert_at: Option<DateTime<Utc>>,
}

/// Binds the writable fields as `$3` … `$11`, after `org_id` and `id`.
fn bind_fields<'q>(
    q: sqlx::query::QueryAs<'q, sqlx::Postgres, MonitorRow, sqlx::postgres::PgArguments>,
    org_id: Uuid,
    id: Uuid,
    f: &MonitorFields<'q>,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, MonitorRow, sqlx::postgres::PgArguments> {
    let (kind, expr, tz, interval) = schedule_columns(f.schedule);
    q.bind(org_id)
        .bind(id)
        .bind(f.name)
        .bind(kind)
        .bind(expr)
        .bind(tz)
        .bind(interval)
        .bind(f.grace_secs)
        .bind(f.status.as_str())
        .bind(f.alert_at)
        .bind(f.max_runtime_secs)
}

/// Creates a monitor. A token collision is `StoreError::Conflict { constraint: "monitors_token_key" }`.
pub async fn insert(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid, token: &str, f: &MonitorFields<'_>) -> StoreResult<Monitor> {
    let sql = format!(
        "INSERT INTO monitors (org_id, id, name, schedule_kind, cron_expr, timezone, interval_secs, grace_secs, status, alert_at,
                               max_runtime_secs, token)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {COLUMNS}"
    );
    bind_fields(sqlx::query_as(&sql), org_id, id, f).bind(token).fetch_one(db).await?.try_into()
}

/// Replaces the writable fields of a monitor of `org_id`. None when it does not exist there.
pub async fn update(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid, f: &MonitorFields<'_>) -> StoreResult<Option<Monitor>> {
    let sql = format!(
        "UPDATE monitors SET name = $3, schedule_kind = $4, cron_expr = $5, timezone = $6, interval_secs = $7,
                grace_secs = $8, status = $9, alert_at = $10, max_runtime_secs = $11,
                start_deadline = CASE WHEN $9 IN ('new', 'up') AND $11::int IS NOT NULL THEN start_deadline END,
                updated_at = now()
          WHERE org_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    bind_fields(sqlx::query_as(&sql), org_id, id, f).fetch_optional(db).await?.map(TryInto::try_into).transpose()
}

pub async fn get(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<Option<Monitor>> {
    tenant_rows::one::<MonitorRow, _, _>(db, &format!("SELECT {COLUMNS} FROM monitors"), org_id, "id", id).await
}

/// A page of an organization's monitors, newest first; `before` is the (created_at, id) of the
/// last monitor of the previous page.
pub async fn list(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> StoreResult<Vec<Monitor>> {
    tenant_rows::newest_first::<MonitorRow, _>(db, &format!("SELECT {COLUMNS} FROM monitors"), org_id, before, limit).await
}

/// Deletes a monitor of `org_id` with its pings. False when not found.
pub async fn delete(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<bool> {
    let n = sqlx::query("DELETE FROM monitors WHERE org_id = $1 AND id = $2").bind(org_id).bind(id).execute(db).await?.rows_affected();
    Ok(n == 1)
}

/// Monitors of an organization being deleted are out of service (`store::erasure`).
const NOT_DELETING: &str = "org_id NOT IN (SELECT id FROM organizations WHERE purge_after IS NOT NULL)";

/// The monitor a ping token names, locked until the transaction ends (pings of one monitor
/// apply one after the other). None for a monitor of an organization being deleted.
pub async fn lock_by_token(db: impl PgExecutor<'_>, token: &str) -> StoreResult<Option<Monitor>> {
    let row: Option<MonitorRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM monitors WHERE token = $1 AND {NOT_DELETING} FOR UPDATE"))
            .bind(token)
            .fetch_optional(db)
            .await?;
    row.map(TryInto::try_into).transpose()
}

/// One received ping.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Ping {
    #[sqlx(try_from = "String")]
    pub kind: PingKind,
    pub received_at: DateTime<Utc>,
    pub method: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub body: Option<String>,
}

/// The monitor's state after a ping, as the caller computed it.
#[derive(Debug, Clone, PartialEq)]
pub struct PingOutcome {
    pub status: MonitorStatus,
    pub last_ping_at: Option<DateTime<Utc>>,
    pub last_start_at: Option<DateTime<Utc>>,
    pub alert_at: Option<DateTime<Utc>>,
    pub start_deadline: Option<DateTime<Utc>>,
    /// `monitor_down` or `monitor_up` when the ping changed the monitor's health.
    pub alert: Option<AlertKind>,
}

/// Stores a ping, the monitor's new state and (when given) an alert event, in one statement.
pub async fn record_ping(conn: &mut PgConnection, monitor: &Monitor, ping: &Ping, outcome: &PingOutcome) -> StoreResult<()> {
    sqlx::query(
        "WITH p AS (
             INSERT INTO pings (monitor_id, kind, received_at, method, source_ip, user_agent, body)
             VALUES ($1, $3, $4, $5, $6, $7, $8)
         ), a AS (
             INSERT INTO alert_events (org_id, kind, monitor_id, details)
             SELECT $2, $13, $1, jsonb_build_object('ping', $3::text, 'received_at', $4::timestamptz)
              WHERE $13::text IS NOT NULL
         )
         UPDATE monitors SET status = $9, last_ping_at = $10, last_start_at = $11, alert_at = $12, start_deadline = $14,
                updated_at = now()
          WHERE id = $1",
    )
    .bind(monitor.id)
    .bind(monitor.org_id)
    .bind(ping.kind.as_str())
    .bind(ping.received_at)
    .bind(&ping.method)
    .bind(&ping.source_ip)
    .bind(&ping.user_agent)
    .bind(&ping.body)
    .bind(outcome.status.as_str())
    .bind(outcome.last_ping_at)
    .bind(outcome.last_start_at)
    .bind(outcome.alert_at)
    .bind(outcome.alert.map(AlertKind::as_str))
    .bind(outcome.start_deadline)
    .execute(conn)
    .await?;
    Ok(())
}

/// The down rule (`domain::monitor::overdue`) over every monitor: those whose expected ping did
/// not arrive by `alert_at` (late; for a monitor that never pinged, its first ping) or whose start
/// ping was not followed by a finishing one by `start_deadline` (hung), up to `limit` of each,
/// earliest first, go down, each with one `monitor_down` alert event saying why, in one
/// statement. Returns their ids. The watched statuses are written out in the SQL so the partial
/// indexes serve it; a test holds them to the domain's rule. SKIP LOCKED keeps a ping arriving
/// at the same moment (it holds the row) out of this round: the ping wins, and the monitor is
/// looked at again next round with the deadlines the ping left.
pub async fn mark_overdue(db: impl PgExecutor<'_>, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar(&format!(
        "WITH late AS (
             SELECT id, alert_at AS deadline, 'late' AS reason FROM monitors
              WHERE status IN ('new', 'up') AND alert_at IS NOT NULL AND alert_at <= $1 AND {NOT_DELETING}
              ORDER BY alert_at LIMIT $2
              FOR UPDATE SKIP LOCKED
         ), hung AS (
             SELECT id, start_deadline AS deadline, 'hung' AS reason FROM monitors
              WHERE status IN ('new', 'up') AND start_deadline IS NOT NULL AND start_deadline <= $1 AND {NOT_DELETING}
              ORDER BY start_deadline LIMIT $2
              FOR UPDATE SKIP LOCKED
         ), due AS (
             SELECT DISTINCT ON (id) id, deadline, reason FROM (SELECT * FROM late UNION ALL SELECT * FROM hung) both_kinds
              ORDER BY id, deadline
         ), down AS (
             UPDATE monitors m SET status = 'down', alert_at = NULL, start_deadline = NULL, updated_at = now()
               FROM due WHERE m.id = due.id
             RETURNING m.id, m.org_id, m.last_ping_at, m.last_start_at, due.deadline, due.reason
         )
         INSERT INTO alert_events (org_id, kind, monitor_id, details)
         SELECT org_id, 'monitor_down', id,
                jsonb_build_object('reason', reason, 'expected_by', deadline, 'last_ping_at', last_ping_at,
                                   'last_start_at', last_start_at)
           FROM down
         RETURNING monitor_id"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// The latest pings of a monitor of `org_id`, newest first.
pub async fn recent_pings(db: impl PgExecutor<'_>, org_id: Uuid, monitor_id: Uuid, limit: i64) -> StoreResult<Vec<Ping>> {
    Ok(sqlx::query_as(
        "SELECT p.kind, p.received_at, p.method, p.source_ip, p.user_agent, p.body
           FROM pings p JOIN monitors m ON m.id = p.monitor_id
          WHERE m.org_id = $1 AND p.monitor_id = $2 ORDER BY p.received_at DESC, p.id DESC LIMIT $3",
    )
    .bind(org_id)
    .bind(monitor_id)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// A page of the pings of all of the organization's monitors, by ping id after `after`: (ping id,
/// monitor id, ping).
pub async fn pings_page(db: impl PgExecutor<'_>, org_id: Uuid, after: Option<i64>, limit: i64) -> StoreResult<Vec<(i64, Uuid, Ping)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        monitor_id: Uuid,
        #[sqlx(flatten)]
        ping: Ping,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT p.id, p.monitor_id, p.kind, p.received_at, p.method, p.source_ip, p.user_agent, p.body
           FROM pings p JOIN monitors m ON m.id = p.monitor_id
          WHERE m.org_id = $1 AND ($2::bigint IS NULL OR p.id > $2) ORDER BY p.id LIMIT $3",
    )
    .bind(org_id)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.monitor_id, r.ping)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organizations;
    use chrono::Duration;
    use domain::tier::Tier;
    use sqlx::PgPool;

    fn fields(schedule: &MonitorSchedule) -> MonitorFields<'_> {
        MonitorFields { name: "backup", schedule, grace_secs: 300, max_runtime_secs: None, status: MonitorStatus::New, alert_at: None }
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn crud_per_tenant(pool: PgPool) {
        let a = organizations::insert(&pool, "A", "a", Tier::Free).await.unwrap();
        let b = organizations::insert(&pool, "B", "b", Tier::Free).await.unwrap();
        let cron = MonitorSchedule::Cron { expr: "0 3 * * *".into(), timezone: "Europe/Oslo".into() };
        let m = insert(&pool, a.id, Uuid::now_v7(), "t0k3nt0k3nt0k3nt0k3n", &fields(&cron)).await.unwrap();
        assert_eq!((m.schedule.clone(), m.status.as_str()), (cron.clone(), "new"));
        assert_eq!(get(&pool, a.id, m.id).await.unwrap(), Some(m.clone()));
        assert_eq!(get(&pool, b.id, m.id).await.unwrap(), None);
        assert!(list(&pool, b.id, None, 10).await.unwrap().is_empty());

        let every = MonitorSchedule::Interval { secs: 600 };
        let at = Utc::now();
        let changed = MonitorFields { name: "hourly", schedule: &every, grace_secs: 60, max_runtime_secs: Some(600), status: MonitorStatus::Paused, alert_at: Some(at) };
        assert_eq!(update(&pool, b.id, m.id, &changed).await.unwrap(), None);
        let m2 = update(&pool, a.id, m.id, &changed).await.unwrap().unwrap();
        assert_eq!((m2.name.as_str(), m2.schedule.clone(), m2.grace_secs, m2.status.as_str()), ("hourly", every, 60, "paused"));
        assert_eq!(list(&pool, a.id, None, 10).await.unwrap(), vec![m2.clone()]);
        let dup = insert(&pool, b.id, Uuid::now_v7(), "t0k3nt0k3nt0k3nt0k3n", &fields(&cron)).await.unwrap_err();
        assert!(dup.is_conflict_on("monitors_token_key"), "{dup:?}");
        assert!(!delete(&pool, b.id, m.id).await.unwrap());
        assert!(delete(&pool, a.id, m.id).await.unwrap());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_ping_updates_state_and_raises_the_alert_it_is_given(pool: PgPool) {
        let a = organizations::insert(&pool, "A", "a", Tier::Free).await.unwrap();
        let every = MonitorSchedule::Interval { secs: 600 };
        let m = insert(&pool, a.id, Uuid::now_v7(), "abcdefghijklmnopqrst", &fields(&every)).await.unwrap();
        let now = Utc::now();
        let mut tx = pool.begin().await.unwrap();
        let locked = lock_by_token(&mut *tx, "abcdefghijklmnopqrst").await.unwrap().unwrap();
        let ping = Ping {
            kind: PingKind::Fail,
            received_at: now,
            method: "POST".into(),
            source_ip: Some("192.0.2.1".into()),
            user_agent: Some("curl".into()),
            body: Some("exit 1".into()),
        };
        let outcome = PingOutcome { status: MonitorStatus::Down, last_ping_at: Some(now), last_start_at: None, alert_at: None, start_deadline: None, alert: Some(AlertKind::MonitorDown) };
        record_ping(&mut tx, &locked, &ping, &outcome).await.unwrap();
        tx.commit().await.unwrap();
        let after = get(&pool, a.id, m.id).await.unwrap().unwrap();
        assert_eq!((after.status.as_str(), after.last_ping_at.is_some()), ("down", true));
        let pings = recent_pings(&pool, a.id, m.id, 5).await.unwrap();
        assert_eq!(pings.len(), 1);
        assert_eq!(pings[0].body.as_deref(), Some("exit 1"));
        let alerts: Vec<String> = sqlx::query_scalar("SELECT kind FROM alert_events WHERE monitor_id = $1").bind(m.id).fetch_all(&pool).await.unwrap();
        assert_eq!(alerts, vec!["monitor_down".to_owned()]);
        assert!(lock_by_token(&pool, "nope-nope-nope-nope").await.unwrap().is_none());

        // a ping without an alert adds none
        let mut conn = pool.acquire().await.unwrap();
        let ok = PingOutcome { status: MonitorStatus::Up, last_ping_at: Some(now), last_start_at: None, alert_at: Some(now + Duration::minutes(15)), start_deadline: None, alert: None };
        record_ping(&mut conn, &after, &Ping { kind: PingKind::Success, ..ping }, &ok).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_events").fetch_one(&pool).await.unwrap();
        assert_eq!(n, 1);
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_monitor_past_its_alert_time_goes_down_once_with_one_alert(pool: PgPool) {
        let a = organizations::insert(&pool, "A", "a", Tier::Free).await.unwrap();
        let every = MonitorSchedule::Interval { secs: 600 };
        let now = Utc::now();
        let mk = |name: &'static str, status: MonitorStatus, alert_at: Option<DateTime<Utc>>| MonitorFields {
            name,
            schedule: &every,
            grace_secs: 60,
            max_runtime_secs: None,
            status,
            alert_at,
        };
        let late = insert(&pool, a.id, Uuid::now_v7(), "late-late-late-late-", &mk("late", MonitorStatus::Up, Some(now - Duration::seconds(1)))).await.unwrap();
        let on_time = insert(&pool, a.id, Uuid::now_v7(), "fine-fine-fine-fine-", &mk("fine", MonitorStatus::Up, Some(now + Duration::seconds(30)))).await.unwrap();
        let paused = insert(&pool, a.id, Uuid::now_v7(), "zzzz-zzzz-zzzz-zzzz-", &mk("paused", MonitorStatus::Paused, Some(now - Duration::hours(1)))).await.unwrap();
        let fresh = insert(&pool, a.id, Uuid::now_v7(), "newb-newb-newb-newb-", &mk("new", MonitorStatus::New, None)).await.unwrap();

        assert_eq!(mark_overdue(&pool, now, 100).await.unwrap(), vec![late.id]);
        let after = get(&pool, a.id, late.id).await.unwrap().unwrap();
        assert_eq!((after.status.as_str(), after.alert_at), ("down", None));
        for (m, status) in [(&on_time, "up"), (&paused, "paused"), (&fresh, "new")] {
            assert_eq!(get(&pool, a.id, m.id).await.unwrap().unwrap().status, status, "{}", m.name);
        }
        let alerts: Vec<(String, Option<Uuid>, String)> =
            sqlx::query_as("SELECT kind, monitor_id, details->>'reason' FROM alert_events").fetch_all(&pool).await.unwrap();
        assert_eq!(alerts, vec![("monitor_down".to_owned(), Some(late.id), "late".to_owned())]);
        // a down monitor is not taken down again
        assert_eq!(mark_overdue(&pool, now + Duration::hours(1), 100).await.unwrap(), vec![on_time.id]);
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_events").fetch_one(&pool).await.unwrap();
        assert_eq!(n, 2);
    }

    /// The SQL of `mark_overdue` spells the watched statuses out (for its partial indexes): it
    /// must take down exactly the monitors the domain's down rule calls overdue, in every status,
    /// for the reason the rule gives.
    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn mark_overdue_applies_the_domains_down_rule(pool: PgPool) {
        let a = organizations::insert(&pool, "A", "a", Tier::Free).await.unwrap();
        let every = MonitorSchedule::Interval { secs: 600 };
        let now = Utc::now();
        let (past, future) = (Some(now - Duration::seconds(1)), Some(now + Duration::seconds(60)));
        let mut expected = Vec::new();
        for (i, status) in MonitorStatus::ALL.iter().enumerate() {
            for (j, (alert_at, start_deadline)) in [(None, None), (past, None), (future, None), (None, past), (future, past), (past, future)].into_iter().enumerate() {
                let f = MonitorFields { name: "m", schedule: &every, grace_secs: 60, max_runtime_secs: Some(60), status: *status, alert_at };
                let m = insert(&pool, a.id, Uuid::now_v7(), &format!("rule-{i}-{j}-token-token"), &f).await.unwrap();
                sqlx::query("UPDATE monitors SET start_deadline = $2 WHERE id = $1").bind(m.id).bind(start_deadline).execute(&pool).await.unwrap();
                if let Some(reason) = domain::monitor::overdue(*status, alert_at, start_deadline, now) {
                    expected.push((m.id, reason.as_str().to_owned()));
                }
            }
        }
        let mut down = mark_overdue(&pool, now, 100).await.unwrap();
        down.sort();
        let mut reasons: Vec<(Uuid, String)> =
            sqlx::query_as("SELECT monitor_id, details->>'reason' FROM alert_events ORDER BY monitor_id").fetch_all(&pool).await.unwrap();
        expected.sort();
        reasons.sort();
        assert_eq!(down, expected.iter().map(|e| e.0).collect::<Vec<_>>());
        assert_eq!(reasons, expected);
        assert_eq!(down.len(), 8, "new and up, each late, hung, or both");
    }
}
