//! Per-organization signing secrets and data keys, cached briefly so the hot path does not query
//! them for every delivery. A rotation reaches deliveries within `ttl`; during that time the old
//! secret, which stays valid for the whole rotation overlap, keeps signing, so receivers never see
//! a gap. Secrets and credential header values are stored sealed (see `store::keyring`): the
//! organization's data key opens them here, just before use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::signing::SigningSecret;
use sqlx::PgPool;
use store::keyring::{Keyring, OrgKey};
use uuid::Uuid;

pub type Secrets = Arc<[SigningSecret]>;

pub struct SecretCache {
    ttl: Duration,
    keyring: Arc<Keyring>,
    entries: Mutex<HashMap<Uuid, (Instant, Secrets, Option<OrgKey>)>>,
}

impl SecretCache {
    pub fn new(ttl: Duration, keyring: Arc<Keyring>) -> Self {
        SecretCache { ttl, keyring, entries: Mutex::new(HashMap::new()) }
    }

    /// Loads, in one query, the organizations among `orgs` that are missing or stale.
    pub async fn refresh(&self, pool: &PgPool, orgs: impl IntoIterator<Item = Uuid>, now: DateTime<Utc>) -> Result<(), store::StoreError> {
        let missing: Vec<Uuid> = {
            let entries = self.entries.lock().expect("secret cache lock");
            let mut m: Vec<Uuid> = orgs
                .into_iter()
                .filter(|o| entries.get(o).is_none_or(|(at, _, _)| at.elapsed() > self.ttl))
                .collect();
            m.sort();
            m.dedup();
            m
        };
        if missing.is_empty() {
            return Ok(());
        }
        let keys = self.keyring.org_keys(pool, &missing).await?;
        let rows = store::signing_secrets::active_for(pool, &missing, now).await?;
        let mut fresh: HashMap<Uuid, Vec<SigningSecret>> = missing.iter().map(|o| (*o, Vec::new())).collect();
        for (org, stored) in rows {
            let opened = keys.get(&org).map(|k| k.open(&stored).map_err(|e| e.to_string()));
            match opened.unwrap_or_else(|| Err("the organization has no data key".to_owned())).and_then(|text| text.parse::<SigningSecret>().map_err(|e| e.to_string())) {
                Ok(s) => fresh.entry(org).or_default().push(s),
                Err(e) => tracing::error!(org_id = %org, error = %e, "a stored signing secret does not open or parse; skipping it"),
            }
        }
        let loaded = Instant::now();
        let mut entries = self.entries.lock().expect("secret cache lock");
        if entries.len() > 100_000 {
            entries.retain(|_, (at, _, _)| at.elapsed() <= self.ttl);
        }
        for (org, secrets) in fresh {
            entries.insert(org, (loaded, secrets.into(), keys.get(&org).cloned()));
        }
        Ok(())
    }

    /// The organization's secrets (newest first); empty when it has none.
    pub fn get(&self, org: Uuid) -> Secrets {
        self.entries.lock().expect("secret cache lock").get(&org).map(|(_, s, _)| s.clone()).unwrap_or_else(|| Arc::from(Vec::new()))
    }

    /// Opens the sealed values among `headers` with the organization's data key (loaded by
    /// [`SecretCache::refresh`]); None when there is nothing sealed.
    pub fn open_headers(&self, org: Uuid, headers: &[(String, String)]) -> Option<Result<Vec<(String, String)>, String>> {
        if !headers.iter().any(|(_, v)| domain::sealed::is_sealed(v)) {
            return None;
        }
        let key = self.entries.lock().expect("secret cache lock").get(&org).and_then(|(_, _, k)| k.clone());
        Some(match key {
            Some(key) => key.open_headers(headers).map_err(|e| e.to_string()),
            None => Err("the organization's data key is not available".to_owned()),
        })
    }
}
