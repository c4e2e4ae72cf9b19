//! Reading an organization's rows of one table, decoded through the table's row type: one row by
//! a column, and pages newest first by `(created_at, id)` (keyset pagination: stable under
//! concurrent inserts). Each aggregate module names its table's columns and decoding; the
//! tenant filter and the paging are written here once.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Encode, FromRow, PgExecutor, Postgres, Type};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};

/// The row of `org_id` whose `column` is `value`; `select` is `SELECT … FROM <table>`.
pub(crate) async fn one<R, T, V>(db: impl PgExecutor<'_>, select: &str, org_id: Uuid, column: &str, value: V) -> StoreResult<Option<T>>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    T: TryFrom<R, Error = StoreError>,
    V: for<'q> Encode<'q, Postgres> + Type<Postgres> + Send + 'static,
{
    let sql = format!("{select} WHERE org_id = $1 AND {column} = $2");
    let row: Option<R> = sqlx::query_as(&sql).bind(org_id).bind(value).fetch_optional(db).await?;
    row.map(T::try_from).transpose()
}

/// A page of `org_id`'s rows, newest first; `before` is the `(created_at, id)` of the last row of
/// the previous page. `select` is `SELECT … FROM <table>`.
pub(crate) async fn newest_first<R, T>(
    db: impl PgExecutor<'_>,
    select: &str,
    org_id: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> StoreResult<Vec<T>>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    T: TryFrom<R, Error = StoreError>,
{
    let sql = format!(
        "{select} WHERE org_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
          ORDER BY created_at DESC, id DESC LIMIT $4"
    );
    let rows: Vec<R> = sqlx::query_as(&sql).bind(org_id).bind(before.map(|b| b.0)).bind(before.map(|b| b.1)).bind(limit).fetch_all(db).await?;
    rows.into_iter().map(T::try_from).collect()
}
