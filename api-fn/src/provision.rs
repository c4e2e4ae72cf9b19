//! Creating organizations and API keys outside the REST API (which has no sign-up): the
//! `api-fn create-org` command for operators, scripts and tests. An organization starts with a
//! signing secret and one API key; both are returned once.

use domain::api_key::ApiKey;
use domain::signing::SigningSecret;
use domain::tier::Tier;
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

/// What to create.
#[derive(Debug, Clone)]
pub struct NewOrganization<'a> {
    pub name: &'a str,
    pub slug: &'a str,
    pub tier: Tier,
    /// Name of the first API key.
    pub key_name: &'a str,
}

/// The created organization with its secrets, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct Provisioned {
    pub org_id: Uuid,
    pub slug: String,
    pub tier: Tier,
    pub api_key_id: Uuid,
    /// `pk_live_….sk_live_…`; only its hash is stored.
    pub api_key: String,
    /// `whsec_…`: verifies the signatures of deliveries.
    pub signing_secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("the slug {0:?} is taken")]
    SlugTaken(String),
    #[error("the slug must be 1 to 63 lowercase letters, digits and inner hyphens, like \"acme-eu\"")]
    InvalidSlug,
    #[error("the name must be 1 to 200 characters")]
    InvalidName,
    #[error("the key name must be 1 to 100 characters")]
    InvalidKeyName,
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// The schema's slug rule: `^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`.
pub fn valid_slug(slug: &str) -> bool {
    let b = slug.as_bytes();
    let inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (1..=63).contains(&b.len()) && inner(&b[0]) && inner(&b[b.len() - 1]) && b.iter().all(|c| inner(c) || *c == b'-')
}

/// Creates the organization, its first signing secret and an API key, in one transaction.
pub async fn create_organization(pool: &PgPool, keyring: &store::keyring::Keyring, new: &NewOrganization<'_>) -> Result<Provisioned, ProvisionError> {
    if !valid_slug(new.slug) {
        return Err(ProvisionError::InvalidSlug);
    }
    if !(1..=200).contains(&new.name.chars().count()) {
        return Err(ProvisionError::InvalidName);
    }
    let mut tx = pool.begin().await.map_err(store::StoreError::from)?;
    let org = store::organizations::insert(&mut *tx, new.name, new.slug, new.tier).await.map_err(|e| {
        if e.is_conflict_on("organizations_slug_key") { ProvisionError::SlugTaken(new.slug.to_owned()) } else { e.into() }
    })?;
    let signing_secret = SigningSecret::generate(rand::random::<[u8; 32]>()).to_string();
    let key = keyring.new_org_key(&mut *tx, org.id).await?;
    store::signing_secrets::insert(&mut *tx, org.id, &key, &signing_secret).await?;
    let (api_key_id, api_key) = create_api_key(&mut *tx, org.id, new.key_name).await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    Ok(Provisioned { org_id: org.id, slug: org.slug, tier: org.tier, api_key_id, api_key, signing_secret })
}

/// Creates an API key for `org_id`; returns its id and the full token (shown once).
pub async fn create_api_key(db: impl PgExecutor<'_>, org_id: Uuid, name: &str) -> Result<(Uuid, String), ProvisionError> {
    if !(1..=100).contains(&name.chars().count()) {
        return Err(ProvisionError::InvalidKeyName);
    }
    let key = ApiKey::generate(rand::random::<[u8; 12]>(), rand::random::<[u8; 32]>());
    let record = store::api_keys::insert(db, org_id, key.id.as_str(), name, &key.secret_hash, None, None).await?;
    Ok((record.id, key.token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_schema_rule() {
        for ok in ["a", "acme", "acme-eu", "a1-b2", &"a".repeat(63)] {
            assert!(valid_slug(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "Acme", "a_b", "a b", &"a".repeat(64), "æ"] {
            assert!(!valid_slug(bad), "{bad}");
        }
    }

    #[sqlx::test(migrator = "store::MIGRATOR")]
    async fn creates_an_org_with_a_working_key_and_secret(pool: PgPool) {
        let keyring = store::keyring::Keyring::development();
        let p = create_organization(&pool, &keyring, &NewOrganization { name: "Acme", slug: "acme", tier: Tier::Pro, key_name: "cli" }).await.unwrap();
        let parsed = ApiKey::parse(&p.api_key).unwrap();
        let owner = store::api_keys::authenticate(&pool, parsed.id.as_str()).await.unwrap().unwrap();
        assert_eq!((owner.org_id, owner.tier), (p.org_id, Tier::Pro));
        assert!(domain::api_key::verify(&parsed.secret, &owner.secret_hash));
        assert!(p.signing_secret.parse::<SigningSecret>().is_ok());
        let key = keyring.org_key(&pool, p.org_id).await.unwrap();
        assert_eq!(store::signing_secrets::active(&pool, p.org_id, &key, chrono::Utc::now()).await.unwrap(), vec![p.signing_secret.clone()]);
        let again = create_organization(&pool, &keyring, &NewOrganization { name: "Other", slug: "acme", tier: Tier::Free, key_name: "cli" }).await;
        assert!(matches!(again, Err(ProvisionError::SlugTaken(_))), "{again:?}");
    }
}
