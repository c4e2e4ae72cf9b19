//! Each organization's data key (see `domain::sealed` for the scheme): made on first use, stored
//! only wrapped by the current master key, unwrapped and kept in memory by each process. Sealing
//! and opening values with it; the leader's chores that rewrap data keys after a master key
//! rotation and seal what an earlier release stored in plain text.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use domain::job::JobHeaders;
use domain::sealed::{self, Key, MasterKeys, SealError};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};

/// The master keys and the data keys unwrapped so far.
pub struct Keyring {
    master: MasterKeys,
    keys: Mutex<HashMap<Uuid, Key>>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("master", &self.master).finish_non_exhaustive()
    }
}

/// One organization's data key, ready to seal and open its values.
#[derive(Clone)]
pub struct OrgKey(Key);

impl fmt::Debug for OrgKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OrgKey(..)")
    }
}

impl OrgKey {
    /// Seals `plain` (a fresh random nonce each time); `hint` is kept beside it in clear.
    pub fn seal(&self, plain: &str, hint: &str) -> String {
        sealed::seal(&self.0, rand::random(), plain, hint)
    }

    /// Opens a sealed value; plain text comes back as it is.
    pub fn open(&self, value: &str) -> Result<String, SealError> {
        sealed::open(&self.0, value)
    }

    /// Seals the values of a job's credential headers. A value equal to the one `previous` (the
    /// stored headers it replaces) holds keeps that sealed text: writing a job back unchanged
    /// leaves it equal to the stored one.
    pub fn seal_headers(&self, headers: &mut JobHeaders, previous: Option<&JobHeaders>) {
        headers.seal_secrets(|name, plain, hint| {
            previous
                .and_then(|p| p.get(name))
                .filter(|old| sealed::is_sealed(old) && self.open(old).is_ok_and(|o| o == plain))
                .map_or_else(|| self.seal(plain, hint), str::to_owned)
        });
    }

    /// True when `headers` hold a credential value not sealed yet.
    pub fn needs_sealing(headers: &JobHeaders) -> bool {
        headers.iter().any(|(n, v)| domain::job::is_secret_header(n) && !sealed::is_sealed(v))
    }

    /// Headers as sent: every sealed value opened.
    pub fn open_headers(&self, headers: &[(String, String)]) -> Result<Vec<(String, String)>, SealError> {
        headers.iter().map(|(n, v)| Ok((n.clone(), self.open(v)?))).collect()
    }
}

/// The master key the development environment uses when none is configured (`id` "dev"). Never
/// for production: api-fn and the dispatcher refuse to start there without `PRIKKE_ENCRYPTION_KEYS`.
pub const DEVELOPMENT_KEYS: &str = "dev:cHJpa2tlLWRldi1rZXktbmV2ZXItcHJvZHVjdGlvbiE=";

/// [`DEVELOPMENT_KEYS`], parsed.
pub fn development_keys() -> MasterKeys {
    MasterKeys::parse(DEVELOPMENT_KEYS).expect("the development key list parses")
}

/// Reads the `PRIKKE_ENCRYPTION_KEYS` setting (both services share it): required in production;
/// elsewhere its absence means [`DEVELOPMENT_KEYS`]. The message names the setting and never
/// repeats key material.
pub fn master_keys_setting(value: Option<&str>, production: bool) -> Result<MasterKeys, String> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => MasterKeys::parse(v).map_err(|e| format!("PRIKKE_ENCRYPTION_KEYS: {e}")),
        None if production => Err("PRIKKE_ENCRYPTION_KEYS is required in production: the master key(s) that wrap each organization's data key, as id:base64-of-32-bytes, newest first (e.g. k1:$(openssl rand -base64 32))".to_owned()),
        None => Ok(development_keys()),
    }
}

impl Keyring {
    pub fn new(master: MasterKeys) -> Keyring {
        Keyring { master, keys: Mutex::new(HashMap::new()) }
    }

    /// A keyring with [`DEVELOPMENT_KEYS`].
    pub fn development() -> Keyring {
        Keyring::new(development_keys())
    }

    pub fn master(&self) -> &MasterKeys {
        &self.master
    }

    /// The organization's data key, made (and stored wrapped) if it has none yet.
    pub async fn org_key(&self, pool: &PgPool, org_id: Uuid) -> StoreResult<OrgKey> {
        let mut keys = self.org_keys(pool, &[org_id]).await?;
        keys.remove(&org_id).ok_or_else(|| StoreError::Corrupt { column: "org_data_keys.org_id", value: format!("no data key for {org_id}") })
    }

    /// The data keys of several organizations in at most three statements; an organization that
    /// no longer exists gets none.
    pub async fn org_keys(&self, pool: &PgPool, org_ids: &[Uuid]) -> StoreResult<HashMap<Uuid, OrgKey>> {
        let mut found: HashMap<Uuid, OrgKey> = HashMap::with_capacity(org_ids.len());
        let mut missing: Vec<Uuid> = Vec::new();
        {
            let keys = self.keys.lock().expect("keyring lock");
            for id in org_ids {
                match keys.get(id) {
                    Some(k) => {
                        found.insert(*id, OrgKey(k.clone()));
                    }
                    None => missing.push(*id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        missing.sort();
        missing.dedup();
        let mut rows = self.load(pool, &missing).await?;
        let absent: Vec<Uuid> = missing.iter().copied().filter(|id| !rows.iter().any(|(o, _)| o == id)).collect();
        if !absent.is_empty() {
            let (id, master) = self.master.current();
            let made: Vec<(Uuid, Vec<u8>)> =
                absent.iter().map(|org| (*org, sealed::wrap(master, rand::random(), &Key::from_bytes(rand::random()), &context(*org, id)))).collect();
            // two processes may make one at once: the first stored wins and both read it back
            sqlx::query(
                "INSERT INTO org_data_keys (org_id, master_key_id, wrapped)
                 SELECT v.org_id, $3, v.wrapped FROM unnest($1::uuid[], $2::bytea[]) AS v(org_id, wrapped)
                  WHERE EXISTS (SELECT 1 FROM organizations o WHERE o.id = v.org_id)
                 ON CONFLICT (org_id) DO NOTHING",
            )
            .bind(made.iter().map(|m| m.0).collect::<Vec<_>>())
            .bind(made.iter().map(|m| m.1.clone()).collect::<Vec<_>>())
            .bind(id)
            .execute(pool)
            .await?;
            rows.extend(self.load(pool, &absent).await?);
        }
        let mut keys = self.keys.lock().expect("keyring lock");
        if keys.len() > 100_000 {
            keys.clear();
        }
        for (org, key) in rows {
            keys.insert(org, key.clone());
            found.insert(org, OrgKey(key));
        }
        Ok(found)
    }

    /// Makes the data key of an organization created in the same transaction `db` (the key of
    /// an organization whose creation rolls back is never used: its id is never seen again).
    pub async fn new_org_key(&self, db: impl sqlx::PgExecutor<'_>, org_id: Uuid) -> StoreResult<OrgKey> {
        let (id, master) = self.master.current();
        let key = Key::from_bytes(rand::random());
        sqlx::query("INSERT INTO org_data_keys (org_id, master_key_id, wrapped) VALUES ($1, $2, $3)")
            .bind(org_id)
            .bind(id)
            .bind(sealed::wrap(master, rand::random(), &key, &context(org_id, id)))
            .execute(db)
            .await?;
        self.keys.lock().expect("keyring lock").insert(org_id, key.clone());
        Ok(OrgKey(key))
    }

    /// Reads and unwraps the stored data keys of `org_ids`.
    async fn load(&self, pool: &PgPool, org_ids: &[Uuid]) -> StoreResult<Vec<(Uuid, Key)>> {
        let rows: Vec<(Uuid, String, Vec<u8>)> = sqlx::query_as("SELECT org_id, master_key_id, wrapped FROM org_data_keys WHERE org_id = ANY($1)")
            .bind(org_ids)
            .fetch_all(pool)
            .await?;
        rows.into_iter().map(|(org, master_id, wrapped)| Ok((org, self.unwrap(org, &master_id, &wrapped)?))).collect()
    }

    fn unwrap(&self, org: Uuid, master_id: &str, wrapped: &[u8]) -> StoreResult<Key> {
        let master = self.master.get(master_id).map_err(sealing)?;
        sealed::unwrap(master, wrapped, &context(org, master_id)).map_err(sealing)
    }

    /// Rewraps up to `limit` data keys still wrapped by an older master key with the current
    /// one; how many. Run until it returns 0, after which the older keys can be removed.
    pub async fn rewrap(&self, pool: &PgPool, limit: i64) -> StoreResult<u64> {
        let (current_id, current) = self.master.current();
        let mut tx = pool.begin().await?;
        let rows: Vec<(Uuid, String, Vec<u8>)> = sqlx::query_as(
            "SELECT org_id, master_key_id, wrapped FROM org_data_keys WHERE master_key_id <> $1 ORDER BY org_id LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(current_id)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut orgs = Vec::with_capacity(rows.len());
        let mut wrapped = Vec::with_capacity(rows.len());
        for (org, master_id, old) in &rows {
            let key = self.unwrap(*org, master_id, old)?;
            orgs.push(*org);
            wrapped.push(sealed::wrap(current, rand::random(), &key, &context(*org, current_id)));
        }
        let n = sqlx::query(
            "UPDATE org_data_keys k SET master_key_id = $3, wrapped = v.wrapped, rewrapped_at = now()
               FROM unnest($1::uuid[], $2::bytea[]) AS v(org_id, wrapped) WHERE k.org_id = v.org_id",
        )
        .bind(&orgs)
        .bind(&wrapped)
        .bind(current_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    /// How many data keys each master key wraps (what tells that an old key can go).
    pub async fn wrapped_by(pool: &PgPool) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as("SELECT master_key_id, count(*) FROM org_data_keys GROUP BY 1 ORDER BY 1").fetch_all(pool).await?)
    }

    /// Seals up to `limit` signing secrets stored in plain text (by a release before encryption);
    /// how many.
    pub async fn seal_plain_secrets(&self, pool: &PgPool, limit: i64) -> StoreResult<u64> {
        let rows: Vec<(Uuid, Uuid, String)> = sqlx::query_as("SELECT id, org_id, secret FROM signing_secrets WHERE secret LIKE 'whsec\\_%' LIMIT $1")
            .bind(limit)
            .fetch_all(pool)
            .await?;
        let keys = self.org_keys(pool, &rows.iter().map(|r| r.1).collect::<Vec<_>>()).await?;
        let mut sealed = Vec::new();
        for (id, org, secret) in &rows {
            if let Some(key) = keys.get(org) {
                sealed.push((*id, secret.clone(), key.seal(secret, "")));
            }
        }
        Ok(sqlx::query(
            "UPDATE signing_secrets s SET secret = v.sealed FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(id, plain, sealed)
              WHERE s.id = v.id AND s.secret = v.plain",
        )
        .bind(sealed.iter().map(|s| s.0).collect::<Vec<_>>())
        .bind(sealed.iter().map(|s| s.1.clone()).collect::<Vec<_>>())
        .bind(sealed.iter().map(|s| s.2.clone()).collect::<Vec<_>>())
        .execute(pool)
        .await?
        .rows_affected())
    }

    /// Seals the plain credential header values of up to `limit` jobs with headers after the job
    /// id `after` (stored by a release before encryption): the last job id looked at (None when
    /// there are no more) and how many jobs changed. Leaves `updated_at` alone: nothing the user
    /// wrote changed.
    pub async fn seal_plain_job_headers(&self, pool: &PgPool, after: Option<Uuid>, limit: i64) -> StoreResult<(Option<Uuid>, u64)> {
        type Headers = sqlx::types::Json<Vec<(String, String)>>;
        let rows: Vec<(Uuid, Uuid, Headers)> = sqlx::query_as(
            "SELECT id, org_id, headers FROM jobs WHERE ($1::uuid IS NULL OR id > $1) AND headers <> '[]'::jsonb ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
        let last = rows.last().map(|r| r.0);
        let keys = self.org_keys(pool, &rows.iter().map(|r| r.1).collect::<Vec<_>>()).await?;
        let mut changed: Vec<(Uuid, Headers, Headers)> = Vec::new();
        for (id, org, headers) in rows {
            let Some(key) = keys.get(&org) else { continue };
            let mut new = headers.0.clone();
            domain::job::seal_secret_values(&mut new, |_, plain, hint| key.seal(plain, hint));
            if new != headers.0 {
                changed.push((id, headers, sqlx::types::Json(new)));
            }
        }
        let n = sqlx::query(
            "UPDATE jobs j SET headers = v.sealed FROM unnest($1::uuid[], $2::jsonb[], $3::jsonb[]) AS v(id, plain, sealed)
              WHERE j.id = v.id AND j.headers = v.plain",
        )
        .bind(changed.iter().map(|c| c.0).collect::<Vec<_>>())
        .bind(changed.iter().map(|c| &c.1).collect::<Vec<_>>())
        .bind(changed.iter().map(|c| &c.2).collect::<Vec<_>>())
        .execute(pool)
        .await?
        .rows_affected();
        Ok((last, n))
    }
}

/// What a wrapped data key is bound to: its organization and the master key that wrapped it.
fn context(org: Uuid, master_id: &str) -> Vec<u8> {
    format!("prikke-data-key/{org}/{master_id}").into_bytes()
}

fn sealing(e: SealError) -> StoreError {
    StoreError::Sealed(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{jobs, organizations, signing_secrets};
    use base64::Engine;
    use chrono::Utc;
    use domain::tier::Tier;

    fn keys(list: &[(&str, u8)]) -> Keyring {
        let text: Vec<String> = list.iter().map(|(id, b)| format!("{id}:{}", base64::engine::general_purpose::STANDARD.encode([*b; 32]))).collect();
        Keyring::new(MasterKeys::parse(&text.join(",")).unwrap())
    }

    async fn org(pool: &PgPool, slug: &str) -> Uuid {
        organizations::insert(pool, slug, slug, Tier::Free).await.unwrap().id
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn one_data_key_per_organization_made_once_and_stored_wrapped(pool: PgPool) {
        let (a, b) = (org(&pool, "a").await, org(&pool, "b").await);
        let k1 = keys(&[("k1", 1)]);
        // two processes asking at once end up with the same key
        let k1_again = keys(&[("k1", 1)]);
        let (x, y) = tokio::join!(k1.org_key(&pool, a), k1_again.org_key(&pool, a));
        let sealed = x.unwrap().seal("Bearer sk_live_0123456789abcdef", "cdef");
        assert_eq!(y.unwrap().open(&sealed).unwrap(), "Bearer sk_live_0123456789abcdef");
        let kb = k1.org_key(&pool, b).await.unwrap();
        assert_eq!(kb.open(&sealed), Err(SealError::Rejected), "another organization's key opens nothing");
        let stored: Vec<(String, Vec<u8>)> = sqlx::query_as("SELECT master_key_id, wrapped FROM org_data_keys ORDER BY org_id").fetch_all(&pool).await.unwrap();
        assert_eq!(stored.len(), 2);
        assert!(stored.iter().all(|(id, w)| id == "k1" && w.len() == 24 + 32 + 16));
        // an organization that does not exist gets no key (and no row)
        assert!(k1.org_keys(&pool, &[Uuid::now_v7()]).await.unwrap().is_empty());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_master_key_rotation_rewraps_every_data_key_and_then_the_old_key_can_go(pool: PgPool) {
        let (a, b) = (org(&pool, "a").await, org(&pool, "b").await);
        let old = keys(&[("k1", 1)]);
        let sealed_a = old.org_key(&pool, a).await.unwrap().seal("secret-a", "");
        let sealed_b = old.org_key(&pool, b).await.unwrap().seal("secret-b", "");
        // step 1: the new key first, the old one still listed
        let both = keys(&[("k2", 2), ("k1", 1)]);
        assert_eq!(both.rewrap(&pool, 1).await.unwrap(), 1);
        assert_eq!(Keyring::wrapped_by(&pool).await.unwrap(), vec![("k1".to_owned(), 1), ("k2".to_owned(), 1)]);
        assert_eq!(both.rewrap(&pool, 10).await.unwrap(), 1);
        assert_eq!(both.rewrap(&pool, 10).await.unwrap(), 0);
        assert_eq!(Keyring::wrapped_by(&pool).await.unwrap(), vec![("k2".to_owned(), 2)]);
        // step 2: the old key removed; everything still opens, the data keys did not change
        let new = keys(&[("k2", 2)]);
        assert_eq!(new.org_key(&pool, a).await.unwrap().open(&sealed_a).unwrap(), "secret-a");
        assert_eq!(new.org_key(&pool, b).await.unwrap().open(&sealed_b).unwrap(), "secret-b");
        // a process with only the old key cannot read them any more, and says why
        let err = keys(&[("k1", 1)]).org_key(&pool, a).await.unwrap_err();
        assert!(matches!(err, StoreError::Sealed(SealError::UnknownMasterKey(ref id)) if id == "k2"), "{err:?}");
        // a wrapped key moved to another organization does not open
        sqlx::query("UPDATE org_data_keys SET wrapped = (SELECT wrapped FROM org_data_keys WHERE org_id = $1) WHERE org_id = $2").bind(a).bind(b).execute(&pool).await.unwrap();
        let err = keys(&[("k2", 2)]).org_key(&pool, b).await.unwrap_err();
        assert!(matches!(err, StoreError::Sealed(SealError::Rejected)), "{err:?}");
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn values_an_earlier_release_stored_in_plain_text_get_sealed(pool: PgPool) {
        let a = org(&pool, "a").await;
        sqlx::query("INSERT INTO signing_secrets (org_id, secret) VALUES ($1, 'whsec_cGxhaW5wbGFpbnBsYWlucGxhaW5wbGFpbg==')").bind(a).execute(&pool).await.unwrap();
        let draft: domain::job::JobDraft = serde_json::from_value(serde_json::json!({"name": "j", "url": "https://example.com/h",
            "headers": {"Authorization": "Bearer sk_live_0123456789abcdef", "X-Job": "nightly"}, "schedule": {"kind": "cron", "expr": "0 3 * * *"}})).unwrap();
        let spec = domain::job::restore(&draft).unwrap();
        let job = jobs::insert(&pool, a, Uuid::now_v7(), &spec, None).await.unwrap();
        let ring = Keyring::development();
        assert_eq!(ring.seal_plain_secrets(&pool, 100).await.unwrap(), 1);
        assert_eq!(ring.seal_plain_secrets(&pool, 100).await.unwrap(), 0);
        assert_eq!(ring.seal_plain_job_headers(&pool, None, 100).await.unwrap(), (Some(job.id), 1));
        assert_eq!(ring.seal_plain_job_headers(&pool, Some(job.id), 100).await.unwrap(), (None, 0));
        assert_eq!(ring.seal_plain_job_headers(&pool, None, 100).await.unwrap(), (Some(job.id), 0), "sealed once");
        let dump: String = sqlx::query_scalar("SELECT (SELECT string_agg(secret, ',') FROM signing_secrets) || (SELECT headers::text FROM jobs)").fetch_one(&pool).await.unwrap();
        assert!(!dump.contains("sk_live") && !dump.contains("whsec_"), "{dump}");
        assert!(dump.contains("nightly"), "other header values stay readable: {dump}");
        let key = ring.org_key(&pool, a).await.unwrap();
        assert_eq!(signing_secrets::active(&pool, a, &key, Utc::now()).await.unwrap(), vec!["whsec_cGxhaW5wbGFpbnBsYWlucGxhaW5wbGFpbg==".to_owned()]);
        let read = jobs::get(&pool, a, job.id).await.unwrap().unwrap();
        let stored: Vec<(String, String)> = read.spec.headers.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
        assert_eq!(key.open_headers(&stored).unwrap()[0].1, "Bearer sk_live_0123456789abcdef");
        assert_eq!(domain::job::mask(&stored[0].1), "********cdef", "a sealed value masks as its plain text would");
        assert_eq!(read.updated_at, job.updated_at);
    }
}
