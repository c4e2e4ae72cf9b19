//! Passwords: argon2id (RFC 9106) with the OWASP-recommended minimum, m = 19 MiB, t = 2, p = 1,
//! a 16-byte random salt, stored as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), which
//! carries its own parameters, so stronger ones can be adopted later while old hashes still
//! verify. One hash costs ≈ 26 ms of one core here (docs/benchmarks.md); it runs on the
//! blocking pool so it never stalls other requests, at most one per core at a time: a burst of
//! sign-ins is served first come, first served instead of every one of them slowing down
//! together (100 at once: each waited ≈ 3.4 s; now the first in line waits one hash).

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// The parameters of new hashes.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

/// One permit per core: hashes beyond that wait their turn.
fn turns() -> &'static tokio::sync::Semaphore {
    static TURNS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    TURNS.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters"))
}

/// The PHC string of `password` with a fresh salt.
pub async fn hash(password: String) -> String {
    let salt: [u8; 16] = rand::random();
    let _turn = turns().acquire().await.expect("the semaphore is never closed");
    tokio::task::spawn_blocking(move || hasher().hash_password_with_salt(password.as_bytes(), &salt).expect("argon2 hashes any password").to_string())
        .await
        .expect("the hashing task runs")
}

/// Whether `password` matches `phc`. With no hash (an unknown address, a magic-link-only
/// account) a hash of the same cost is still computed, so the answer takes as long either way.
pub async fn verify(password: String, phc: Option<String>) -> bool {
    let _turn = turns().acquire().await.expect("the semaphore is never closed");
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => hasher().verify_password(password.as_bytes(), phc.as_str()).is_ok(),
        None => {
            let _ = hasher().hash_password_with_salt(password.as_bytes(), &[0u8; 16]);
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let phc = hash("correct horse battery".into()).await;
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery".into(), Some(phc.clone())).await);
        assert!(!verify("correct horse battery!".into(), Some(phc.clone())).await);
        assert!(!verify("anything".into(), None).await);
        assert_ne!(hash("correct horse battery".into()).await, phc, "salted");
    }
}
