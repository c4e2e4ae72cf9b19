//! The landing page's waitlist: one row per address, case-insensitively.

use sqlx::PgExecutor;

use crate::error::StoreResult;

/// Whether `add` stored a new address or found it already listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitlistOutcome {
    Added,
    AlreadyListed,
}

/// Stores `email` once; a repeat (in any letter case) is not an error.
pub async fn add(db: impl PgExecutor<'_>, email: &str, source: Option<&str>) -> StoreResult<WaitlistOutcome> {
    let inserted = sqlx::query(
        "INSERT INTO waitlist (email, source) VALUES ($1, $2) ON CONFLICT ((lower(email))) DO NOTHING",
    )
    .bind(email)
    .bind(source)
    .execute(db)
    .await?
    .rows_affected();
    Ok(if inserted == 1 { WaitlistOutcome::Added } else { WaitlistOutcome::AlreadyListed })
}

/// Number of addresses on the list.
pub async fn count(db: impl PgExecutor<'_>) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM waitlist").fetch_one(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::PgPool;

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn stores_an_address_once_whatever_its_case(pool: PgPool) {
        assert_eq!(add(&pool, "ada@example.eu", Some("landing")).await.unwrap(), WaitlistOutcome::Added);
        assert_eq!(add(&pool, "Ada@Example.EU", None).await.unwrap(), WaitlistOutcome::AlreadyListed);
        assert_eq!(add(&pool, "grace@example.eu", None).await.unwrap(), WaitlistOutcome::Added);
        assert_eq!(count(&pool).await.unwrap(), 2);
    }
}
