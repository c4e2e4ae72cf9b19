//! Secrets at rest: envelope encryption with XChaCha20-Poly1305.
//!
//! Each organization has its own data key (32 random bytes). Values are sealed with it and stored
//! as text; the data key itself is stored only *wrapped* (sealed) by a master key that the
//! environment provides (`PRIKKE_ENCRYPTION_KEYS`, from a KMS / secrets manager in production).
//! A database dump alone therefore opens nothing.
//!
//! A sealed value is `"\u{1}sealed:v1:" + base64url(nonce ‖ ciphertext) + ":" + hint`. The leading
//! control character can never start a value a user wrote (header values refuse control
//! characters), so a sealed value is never mistaken for plain text and the other way round. The
//! hint is what a masked value shows (the last four characters of a long secret, or nothing), so
//! pages and API responses can show a masked secret without opening it.
//!
//! Master keys have short ids (`k2:<base64 of 32 bytes>,k1:<…>`): the first one wraps new data
//! keys, every one listed can unwrap. Rotating the master key = putting a new one first; the
//! dispatcher's leader then rewraps every data key with it, after which the old one can go.
//!
//! No randomness is drawn here (the crate does no I/O): callers pass fresh random nonces and keys.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// How every sealed value starts.
pub const SEALED_PREFIX: &str = "\u{1}sealed:v1:";
/// Bytes of a key (master or data key).
pub const KEY_BYTES: usize = 32;
/// Bytes of a nonce: random per seal (XChaCha20's 192-bit nonces make collisions negligible).
pub const NONCE_BYTES: usize = 24;

/// A 256-bit key. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; KEY_BYTES]);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Key {
        Key(bytes)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }
}

/// Why a value or key could not be opened, or a key list not read. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("the sealed value does not open with this key (wrong key or altered data)")]
    Rejected,
    #[error("no master key with id {0:?} is configured")]
    UnknownMasterKey(String),
    #[error("{0}")]
    BadKeyList(String),
}

/// True when `value` is sealed (not plain text).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(SEALED_PREFIX)
}

/// The hint stored with a sealed value (what its mask shows); None for plain text.
pub fn hint(value: &str) -> Option<&str> {
    let rest = value.strip_prefix(SEALED_PREFIX)?;
    Some(rest.split_once(':').map_or("", |(_, hint)| hint))
}

/// Seals `plaintext` with `key`; `hint` is stored beside it in clear (keep it to what a mask shows).
pub fn seal(key: &Key, nonce: [u8; NONCE_BYTES], plaintext: &str, hint: &str) -> String {
    let sealed = encrypt(key, nonce, plaintext.as_bytes(), b"prikke-value-v1");
    format!("{SEALED_PREFIX}{}:{hint}", URL_SAFE_NO_PAD.encode(sealed))
}

/// Opens a sealed value; plain text (a row written before encryption) comes back as it is.
pub fn open(key: &Key, value: &str) -> Result<String, SealError> {
    let Some(rest) = value.strip_prefix(SEALED_PREFIX) else { return Ok(value.to_owned()) };
    let encoded = rest.split_once(':').map_or(rest, |(data, _)| data);
    let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| SealError::Malformed)?;
    let plain = decrypt(key, &bytes, b"prikke-value-v1")?;
    String::from_utf8(plain).map_err(|_| SealError::Malformed)
}

/// Wraps an organization's data key with a master key; `context` (the organization's id and the
/// master key's id) is authenticated, so a wrapped key cannot be moved to another organization.
pub fn wrap(master: &Key, nonce: [u8; NONCE_BYTES], data_key: &Key, context: &[u8]) -> Vec<u8> {
    encrypt(master, nonce, &data_key.0, context)
}

/// Unwraps what [`wrap`] made, given the same context.
pub fn unwrap(master: &Key, wrapped: &[u8], context: &[u8]) -> Result<Key, SealError> {
    let plain = decrypt(master, wrapped, context)?;
    let bytes: [u8; KEY_BYTES] = plain.try_into().map_err(|_| SealError::Malformed)?;
    Ok(Key(bytes))
}

fn encrypt(key: &Key, nonce: [u8; NONCE_BYTES], msg: &[u8], aad: &[u8]) -> Vec<u8> {
    let n = XNonce::from(nonce);
    // encryption into a Vec only fails on lengths far beyond anything stored here
    let ciphertext = key.cipher().encrypt(&n, Payload { msg, aad }).expect("XChaCha20-Poly1305 encrypts any value below 256 GiB");
    let mut out = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

fn decrypt(key: &Key, bytes: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
    if bytes.len() < NONCE_BYTES + 16 {
        return Err(SealError::Malformed);
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealError::Malformed)?;
    key.cipher().decrypt(&XNonce::from(nonce), Payload { msg: ciphertext, aad }).map_err(|_| SealError::Rejected)
}

/// The configured master keys, the first one current (it wraps new data keys).
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKeys(Vec<(String, Key)>);

impl fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MasterKeys").field(&self.ids()).finish()
    }
}

impl MasterKeys {
    /// Most master keys listed at once (the current one and those being rotated out).
    pub const MAX: usize = 8;

    /// Reads `id:base64,id:base64` (standard base64 of 32 bytes; ids of letters, digits, `-`, `_`,
    /// at most 32 characters, all different). The error never repeats key material.
    pub fn parse(list: &str) -> Result<MasterKeys, SealError> {
        let bad = |m: String| Err(SealError::BadKeyList(m));
        let mut keys: Vec<(String, Key)> = Vec::new();
        for (i, item) in list.split(',').map(str::trim).enumerate() {
            let n = i + 1;
            let Some((id, encoded)) = item.split_once(':') else {
                return bad(format!("entry {n} is not of the form id:base64-key"));
            };
            if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return bad(format!("entry {n}: the key id must be 1-32 letters, digits, '-' or '_'"));
            }
            if keys.iter().any(|(k, _)| k == id) {
                return bad(format!("entry {n}: the key id {id:?} is listed twice"));
            }
            let Ok(bytes) = STANDARD.decode(encoded.trim()) else {
                return bad(format!("entry {n} (id {id:?}): the key is not valid base64"));
            };
            let Ok(bytes) = <[u8; KEY_BYTES]>::try_from(bytes.as_slice()) else {
                return bad(format!("entry {n} (id {id:?}): the key must be {KEY_BYTES} bytes (44 base64 characters), not {}", bytes.len()));
            };
            keys.push((id.to_owned(), Key(bytes)));
        }
        if keys.len() > Self::MAX {
            return bad(format!("{} keys listed; at most {} are allowed", keys.len(), Self::MAX));
        }
        Ok(MasterKeys(keys))
    }

    /// The current key: its id and the key.
    pub fn current(&self) -> (&str, &Key) {
        let (id, key) = &self.0[0];
        (id, key)
    }

    /// The key with this id.
    pub fn get(&self, id: &str) -> Result<&Key, SealError> {
        self.0.iter().find(|(k, _)| k == id).map(|(_, key)| key).ok_or_else(|| SealError::UnknownMasterKey(id.to_owned()))
    }

    /// The ids, current first.
    pub fn ids(&self) -> Vec<&str> {
        self.0.iter().map(|(id, _)| id.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> Key {
        Key([b; KEY_BYTES])
    }

    #[test]
    fn sealed_values_open_with_their_key_only() {
        let v = seal(&key(1), [7; NONCE_BYTES], "Bearer sk_live_0123456789abcdef", "cdef");
        assert!(is_sealed(&v));
        assert!(!v.contains("sk_live"), "{v}");
        assert_eq!(hint(&v), Some("cdef"));
        assert_eq!(open(&key(1), &v).unwrap(), "Bearer sk_live_0123456789abcdef");
        assert_eq!(open(&key(2), &v), Err(SealError::Rejected));
        // a new nonce, a new text: equal secrets cannot be spotted in the database
        assert_ne!(seal(&key(1), [8; NONCE_BYTES], "Bearer sk_live_0123456789abcdef", "cdef"), v);
    }

    #[test]
    fn plain_text_passes_and_damage_is_refused() {
        assert_eq!(open(&key(1), "Bearer plain").unwrap(), "Bearer plain");
        assert_eq!(hint("Bearer plain"), None);
        let v = seal(&key(1), [7; NONCE_BYTES], "secret", "");
        let (data, _) = v.strip_prefix(SEALED_PREFIX).unwrap().split_once(':').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(data).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = format!("{SEALED_PREFIX}{}:", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(open(&key(1), &altered), Err(SealError::Rejected));
        assert_eq!(open(&key(1), &format!("{SEALED_PREFIX}!!:")), Err(SealError::Malformed));
        assert_eq!(open(&key(1), &format!("{SEALED_PREFIX}AAAA:")), Err(SealError::Malformed));
        // the hint is clear text, but altering it changes nothing that opens
        let rehinted = format!("{v}zzzz");
        assert_eq!(open(&key(1), &rehinted).unwrap(), "secret");
    }

    #[test]
    fn wrapped_data_keys_are_bound_to_their_context() {
        let wrapped = wrap(&key(9), [1; NONCE_BYTES], &key(3), b"org-a/k1");
        assert_eq!(unwrap(&key(9), &wrapped, b"org-a/k1").unwrap(), key(3));
        assert_eq!(unwrap(&key(9), &wrapped, b"org-b/k1"), Err(SealError::Rejected));
        assert_eq!(unwrap(&key(8), &wrapped, b"org-a/k1"), Err(SealError::Rejected));
    }

    #[test]
    fn master_key_lists() {
        let a = STANDARD.encode([1u8; 32]);
        let b = STANDARD.encode([2u8; 32]);
        let keys = MasterKeys::parse(&format!("k2:{b}, k1:{a}")).unwrap();
        assert_eq!(keys.ids(), vec!["k2", "k1"]);
        assert_eq!(keys.current().0, "k2");
        assert_eq!(keys.get("k1").unwrap(), &key(1));
        assert_eq!(keys.get("k0"), Err(SealError::UnknownMasterKey("k0".into())));
        assert!(!format!("{keys:?}").contains(&a));
        for (bad, needle) in [
            ("", "entry 1 is not of the form"),
            (&format!("k1:{a},k1:{b}") as &str, "listed twice"),
            ("k1:not base64!", "not valid base64"),
            ("k1:AAAA", "must be 32 bytes"),
            (&format!("bad id:{a}"), "key id must be"),
        ] {
            let err = MasterKeys::parse(bad).unwrap_err().to_string();
            assert!(err.contains(needle), "{bad:?}: {err}");
            assert!(!err.contains(&b), "{err}");
        }
    }
}
