//! The leader lock: a Postgres session advisory lock, held on a connection of its own for as long
//! as its holder leads (see the dispatcher's `leader` module for the state machine). The lock
//! belongs to the session, so a lost connection is lost leadership.

use sqlx::PgConnection;

use crate::error::StoreResult;

/// The advisory lock key: "prikke" as a 64-bit constant.
pub const LEADER_LOCK_KEY: i64 = 0x7072_696b_6b65_0001;

/// Takes the lock if nobody holds it; true when this session now leads.
pub async fn try_lead(conn: &mut PgConnection) -> StoreResult<bool> {
    Ok(sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(LEADER_LOCK_KEY).fetch_one(conn).await?)
}

/// Releases the lock (a clean shutdown, so a follower need not wait for the disconnect).
pub async fn step_down(conn: &mut PgConnection) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_unlock($1)").bind(LEADER_LOCK_KEY).execute(conn).await?;
    Ok(())
}

/// A round trip on the lock's connection: an error means the session, and the lock, may be gone.
pub async fn check(conn: &mut PgConnection) -> StoreResult<()> {
    sqlx::query("SELECT 1").execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{Connection, PgPool};

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn one_session_leads_until_it_steps_down(pool: PgPool) {
        let mut a = pool.acquire().await.unwrap().detach();
        let mut b = pool.acquire().await.unwrap().detach();
        assert!(try_lead(&mut a).await.unwrap());
        assert!(!try_lead(&mut b).await.unwrap(), "held by a");
        check(&mut a).await.unwrap();
        step_down(&mut a).await.unwrap();
        assert!(try_lead(&mut b).await.unwrap(), "released");
        b.close().await.unwrap();
        assert!(try_lead(&mut a).await.unwrap(), "a closed session holds nothing");
        a.close().await.unwrap();
    }
}
