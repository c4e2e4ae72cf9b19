//! The statements api-fn coalesces across concurrent requests (see [`crate::coalesce`]): the
//! API-key lookup every `/api/v1` request makes, and the INSERT of `POST /api/v1/jobs`.

use std::collections::HashMap;

use sqlx::PgPool;
use store::api_keys::KeyOwner;
use store::jobs::{Job, NewJob};

use crate::coalesce::Coalescer;
use crate::problem::Problem;
use crate::v1::job_rules::key_conflict;

/// Most inputs one statement takes. Larger batches gain little: at 100 concurrent clients the
/// batches measured stay well below it.
const MAX_BATCH: usize = 256;

/// Batches of one kind running at once. One: while it runs, the next batch gathers, and fewer,
/// larger batches cost Postgres less than more, smaller ones. Measured on 2 cores, 100 clients
/// creating jobs: one at a time made batches of ≈ 31 and 7,100–8,250 creates/s (p99 21–25 ms);
/// two made batches of ≈ 16 and 5,900–7,300/s (p99 25–30 ms). The cost: a batch that waits (on
/// a row lock, e.g. a concurrent transaction inserting the same sync key) holds up the creates
/// queued behind it until it goes through.
const IN_FLIGHT: usize = 1;

/// The coalescers of one API instance.
#[derive(Clone)]
pub struct Batches {
    /// Active key by public id (None: unknown or revoked).
    pub keys: Coalescer<String, Result<Option<KeyOwner>, Problem>>,
    /// Job creates without an idempotency key or a job limit to check.
    /// A duplicate sync key is the 409 of [`crate::v1::job_rules::key_conflict`].
    pub new_jobs: Coalescer<NewJob, Result<Job, Problem>>,
}

impl Batches {
    /// Starts the workers on the current tokio runtime.
    pub fn spawn(pool: &PgPool) -> Self {
        let keys = {
            let pool = pool.clone();
            Coalescer::spawn(MAX_BATCH, IN_FLIGHT, move |ids: Vec<String>| {
                let pool = pool.clone();
                async move { lookup_keys(&pool, ids).await }
            })
        };
        let new_jobs = {
            let pool = pool.clone();
            Coalescer::spawn(MAX_BATCH, IN_FLIGHT, move |jobs: Vec<NewJob>| {
                let pool = pool.clone();
                async move {
                    match store::jobs::insert_specs(&pool, &jobs).await {
                        Ok(out) => out.into_iter().map(|r| r.map_err(|e| key_conflict(e, "key"))).collect(),
                        Err(e) => {
                            let problem = Problem::from(e);
                            jobs.iter().map(|_| Err(problem.clone())).collect()
                        }
                    }
                }
            })
        };
        Batches { keys, new_jobs }
    }
}

async fn lookup_keys(pool: &PgPool, ids: Vec<String>) -> Vec<Result<Option<KeyOwner>, Problem>> {
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    match store::api_keys::authenticate_many(pool, &unique).await {
        Ok(found) => {
            let by_id: HashMap<&str, &KeyOwner> = found.iter().map(|o| (o.public_id.as_str(), o)).collect();
            ids.iter().map(|id| Ok(by_id.get(id.as_str()).map(|&o| o.clone()))).collect()
        }
        Err(e) => {
            let problem = Problem::from(e);
            ids.iter().map(|_| Err(problem.clone())).collect()
        }
    }
}
