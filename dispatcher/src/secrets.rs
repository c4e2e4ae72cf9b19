//! Per-organization signing secrets, cached briefly so the hot path does not query them for every
//! delivery. A rotation reaches deliveries within `ttl`; during that time the old secret, which
//! stays valid for the whole rotation overlap, keeps signing, so receivers never see a gap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::signing::SigningSecret;
use sqlx::PgPool;
use uuid::Uuid;

pub type Secrets = Arc<[SigningSecret]>;

pub struct SecretCache {
    ttl: Duration,
    entries: Mutex<HashMap<Uuid, (Instant, Secrets)>>,
}

impl SecretCache {
    pub fn new(ttl: Duration) -> Self {
        SecretCache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    /// Loads, in one query, the organizations among `orgs` that are missing or stale.
    pub async fn refresh(&self, pool: &PgPool, orgs: impl IntoIterator<Item = Uuid>, now: DateTime<Utc>) -> Result<(), store::StoreError> {
        let missing: Vec<Uuid> = {
            let entries = self.entries.lock().expect("secret cache lock");
            let mut m: Vec<Uuid> = orgs
                .into_iter()
                .filter(|o| entries.get(o).is_none_or(|(at, _)| at.elapsed() > self.ttl))
                .collect();
            m.sort();
            m.dedup();
            m
        };
        if missing.is_empty() {
            return Ok(());
        }
        let rows = store::signing_secrets::active_for(pool, &missing, now).await?;
        let mut fresh: HashMap<Uuid, Vec<SigningSecret>> = missing.iter().map(|o| (*o, Vec::new())).collect();
        for (org, text) in rows {
            match text.parse::<SigningSecret>() {
                Ok(s) => fresh.entry(org).or_default().push(s),
                Err(e) => tracing::error!(org_id = %org, error = %e, "a stored signing secret does not parse; skipping it"),
            }
        }
        let loaded = Instant::now();
        let mut entries = self.entries.lock().expect("secret cache lock");
        if entries.len() > 100_000 {
            entries.retain(|_, (at, _)| at.elapsed() <= self.ttl);
        }
        for (org, secrets) in fresh {
            entries.insert(org, (loaded, secrets.into()));
        }
        Ok(())
    }

    /// The organization's secrets (newest first); empty when it has none.
    pub fn get(&self, org: Uuid) -> Secrets {
        self.entries.lock().expect("secret cache lock").get(&org).map(|(_, s)| s.clone()).unwrap_or_else(|| Arc::from(Vec::new()))
    }
}
