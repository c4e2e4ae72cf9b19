//! API key format `pk_live_<id>.sk_live_<secret>`: generation from injected randomness, strict
//! parsing, and hashing/verification of the secret half.
//!
//! - `<id>` is 12 random bytes as 24 lowercase hex digits. It is public: stored in clear
//!   (`api_keys.public_id`, the bare hex), shown in the dashboard, used to find the key row.
//! - `<secret>` is 32 random bytes as 64 lowercase hex digits. It is shown once at creation and
//!   only its SHA-256 is stored.
//!
//! Hex keeps the token free of characters that need escaping anywhere (URLs, shells, YAML) and
//! makes parsing trivially strict: one spelling per key, so one hash per key.
//!
//! # Why plain SHA-256 and not a password hash
//!
//! Slow hashes (argon2, bcrypt) exist to make guessing *low-entropy* passwords expensive. The
//! secret here is 256 bits from a CSPRNG: even with the hash table stolen, enumerating 2^256
//! candidates is impossible at any hash speed, so a slow hash would add tens of milliseconds and
//! megabytes of memory to *every authenticated request* without adding security. SHA-256's
//! preimage resistance is what matters, and it is fast. The key row is found by the public id,
//! then the stored hash is compared in constant time.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PUBLIC_PREFIX: &str = "pk_live_";
const SECRET_PREFIX: &str = "sk_live_";
const ID_BYTES: usize = 12;
const SECRET_BYTES: usize = 32;
const ID_HEX_LEN: usize = ID_BYTES * 2;
const SECRET_HEX_LEN: usize = SECRET_BYTES * 2;

/// The public identifier of a key: 24 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiKeyId(String);

impl ApiKeyId {
    /// The bare hex id, as stored in `api_keys.public_id`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Re-validates an id read back from storage.
    pub fn parse(bare_hex: &str) -> Result<Self, ApiKeyError> {
        check_hex(
            bare_hex,
            ID_HEX_LEN,
            |got| ApiKeyError::IdLength { got },
            ApiKeyError::IdAlphabet,
        )?;
        Ok(ApiKeyId(bare_hex.to_owned()))
    }
}

/// Shows the public half as users see it in their token: `pk_live_<id>`.
impl fmt::Display for ApiKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", self.0)
    }
}

/// The secret half of a key (32 bytes). `Debug` never prints it and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret([u8; SECRET_BYTES]);

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret(<redacted>)")
    }
}

impl ApiKeySecret {
    /// SHA-256 of the secret bytes: the only form that is stored.
    pub fn hash(&self) -> [u8; 32] {
        hash_secret(self)
    }
}

/// A freshly generated key. Hand `token` to the user once; store `id` and `secret_hash`.
#[derive(Clone)]
pub struct GeneratedApiKey {
    /// The full `pk_live_….sk_live_…` token.
    pub token: String,
    pub id: ApiKeyId,
    pub secret_hash: [u8; 32],
}

impl fmt::Debug for GeneratedApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedApiKey")
            .field("token", &"<redacted>")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A syntactically valid key presented by a client, not yet checked against storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedApiKey {
    pub id: ApiKeyId,
    pub secret: ApiKeySecret,
}

/// Why a presented key is not a well-formed Prikke API key. Messages never echo the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    #[error("an API key starts with \"pk_live_\"")]
    MissingPublicPrefix,
    #[error("an API key has the form pk_live_<id>.sk_live_<secret>; the \".\" is missing")]
    MissingSeparator,
    #[error("the part after \".\" must start with \"sk_live_\"")]
    MissingSecretPrefix,
    #[error("the key id must be {expected} characters, got {got}", expected = ID_HEX_LEN)]
    IdLength { got: usize },
    #[error("the key id may only contain 0-9 and a-f")]
    IdAlphabet,
    #[error("the key secret must be {expected} characters, got {got}", expected = SECRET_HEX_LEN)]
    SecretLength { got: usize },
    #[error("the key secret may only contain 0-9 and a-f")]
    SecretAlphabet,
}

/// Namespace for key generation and parsing.
#[derive(Debug)]
pub struct ApiKey;

impl ApiKey {
    /// Builds a key from random bytes the caller drew from a CSPRNG.
    pub fn generate(id_bytes: [u8; ID_BYTES], secret_bytes: [u8; SECRET_BYTES]) -> GeneratedApiKey {
        let id = ApiKeyId(hex(&id_bytes));
        let secret = ApiKeySecret(secret_bytes);
        let mut token = String::with_capacity(
            PUBLIC_PREFIX.len() + ID_HEX_LEN + 1 + SECRET_PREFIX.len() + SECRET_HEX_LEN,
        );
        token.push_str(PUBLIC_PREFIX);
        token.push_str(&id.0);
        token.push('.');
        token.push_str(SECRET_PREFIX);
        token.push_str(&hex(&secret_bytes));
        GeneratedApiKey {
            token,
            id,
            secret_hash: secret.hash(),
        }
    }

    /// Parses a presented token strictly: exact prefixes, exact lengths, lowercase hex only.
    pub fn parse(token: &str) -> Result<ParsedApiKey, ApiKeyError> {
        let rest = token
            .strip_prefix(PUBLIC_PREFIX)
            .ok_or(ApiKeyError::MissingPublicPrefix)?;
        let (id, secret) = rest.split_once('.').ok_or(ApiKeyError::MissingSeparator)?;
        let secret = secret
            .strip_prefix(SECRET_PREFIX)
            .ok_or(ApiKeyError::MissingSecretPrefix)?;
        let id = ApiKeyId::parse(id)?;
        check_hex(
            secret,
            SECRET_HEX_LEN,
            |got| ApiKeyError::SecretLength { got },
            ApiKeyError::SecretAlphabet,
        )?;
        let mut bytes = [0u8; SECRET_BYTES];
        for (byte, pair) in bytes.iter_mut().zip(secret.as_bytes().chunks_exact(2)) {
            *byte = (nibble(pair[0]) << 4) | nibble(pair[1]);
        }
        Ok(ParsedApiKey {
            id,
            secret: ApiKeySecret(bytes),
        })
    }
}

/// SHA-256 of the secret's bytes.
pub fn hash_secret(secret: &ApiKeySecret) -> [u8; 32] {
    Sha256::digest(secret.0).into()
}

/// Whether `secret` hashes to `stored_hash`, compared in constant time. A stored hash of the
/// wrong length never matches.
pub fn verify(secret: &ApiKeySecret, stored_hash: &[u8]) -> bool {
    hash_secret(secret).ct_eq(stored_hash).into()
}

fn check_hex(
    s: &str,
    len: usize,
    wrong_length: fn(usize) -> ApiKeyError,
    wrong_alphabet: ApiKeyError,
) -> Result<(), ApiKeyError> {
    // Count characters, not bytes, so the reported length matches what the user sees.
    let chars = s.chars().count();
    if chars != len {
        return Err(wrong_length(chars));
    }
    if !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(wrong_alphabet);
    }
    Ok(())
}

fn nibble(hex_digit: u8) -> u8 {
    match hex_digit {
        b'0'..=b'9' => hex_digit - b'0',
        _ => hex_digit - b'a' + 10,
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

/// The most keys an organization may have in use at once (revoked ones do not count).
pub const MAX_ACTIVE_KEYS: usize = 50;

/// A key's name: what it is for ("CI", "staging worker"), 1 to 100 characters, no control
/// characters, surrounding spaces dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyNameError {
    #[error("name a key after what uses it, in 1 to 100 characters")]
    Length,
    #[error("a key's name may not contain control characters")]
    ControlCharacters,
}

impl KeyName {
    pub fn parse(name: &str) -> Result<Self, KeyNameError> {
        let name = name.trim();
        if !(1..=100).contains(&name.chars().count()) {
            return Err(KeyNameError::Length);
        }
        if name.chars().any(char::is_control) {
            return Err(KeyNameError::ControlCharacters);
        }
        Ok(KeyName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> GeneratedApiKey {
        let mut secret = [0u8; 32];
        for (i, b) in secret.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(5);
        }
        ApiKey::generate([0xab; 12], secret)
    }

    fn with_secret(secret: &str) -> String {
        format!("pk_live_{}.sk_live_{secret}", "ab".repeat(12))
    }

    #[test]
    fn generated_token_has_the_documented_shape() {
        let key = sample();
        assert_eq!(key.id.as_str(), "abababababababababababab");
        assert_eq!(key.id.to_string(), "pk_live_abababababababababababab");
        assert!(
            key.token
                .starts_with("pk_live_abababababababababababab.sk_live_052a")
        );
        assert_eq!(key.token.len(), 8 + 24 + 1 + 8 + 64);
    }

    #[test]
    fn generate_then_parse_round_trips_and_verifies() {
        let key = sample();
        let parsed = ApiKey::parse(&key.token).unwrap();
        assert_eq!(parsed.id, key.id);
        assert_eq!(parsed.secret.hash(), key.secret_hash);
        assert!(verify(&parsed.secret, &key.secret_hash));
    }

    #[test]
    fn hash_is_sha256_of_the_secret_bytes() {
        // SHA-256 of 32 zero bytes.
        let zero = ApiKey::parse(&with_secret(&"0".repeat(64))).unwrap();
        let expected = "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925";
        assert_eq!(hex(&hash_secret(&zero.secret)), expected);
    }

    #[test]
    fn verify_rejects_other_secrets_and_malformed_hashes() {
        let key = sample();
        let other = ApiKey::generate([0xab; 12], [9; 32]);
        let parsed_other = ApiKey::parse(&other.token).unwrap();
        assert!(!verify(&parsed_other.secret, &key.secret_hash));
        let parsed = ApiKey::parse(&key.token).unwrap();
        assert!(!verify(&parsed.secret, &key.secret_hash[..31]));
        assert!(!verify(&parsed.secret, &[]));
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let key = sample();
        let secret_hex = key.token.split("sk_live_").nth(1).unwrap().to_owned();
        let parsed = ApiKey::parse(&key.token).unwrap();
        for debug in [format!("{key:?}"), format!("{parsed:?}")] {
            assert!(!debug.contains(&secret_hex), "{debug}");
            assert!(!debug.contains(&secret_hex[..16]), "{debug}");
            assert!(debug.contains("redacted"));
        }
    }

    #[test]
    fn rejects_a_missing_public_prefix() {
        for token in [
            "",
            "sk_live_x",
            "pk_test_abc.sk_live_abc",
            "PK_LIVE_abc.sk_live_abc",
        ] {
            assert_eq!(
                ApiKey::parse(token),
                Err(ApiKeyError::MissingPublicPrefix),
                "{token}"
            );
        }
    }

    #[test]
    fn rejects_a_missing_separator() {
        let token = format!("pk_live_{}sk_live_{}", "ab".repeat(12), "0".repeat(64));
        assert_eq!(ApiKey::parse(&token), Err(ApiKeyError::MissingSeparator));
    }

    #[test]
    fn rejects_a_missing_secret_prefix() {
        let token = format!("pk_live_{}.{}", "ab".repeat(12), "0".repeat(64));
        assert_eq!(ApiKey::parse(&token), Err(ApiKeyError::MissingSecretPrefix));
    }

    #[test]
    fn rejects_ids_of_the_wrong_length() {
        let token = format!("pk_live_{}.sk_live_{}", "ab".repeat(11), "0".repeat(64));
        assert_eq!(
            ApiKey::parse(&token),
            Err(ApiKeyError::IdLength { got: 22 })
        );
        assert_eq!(ApiKeyId::parse(""), Err(ApiKeyError::IdLength { got: 0 }));
    }

    #[test]
    fn rejects_ids_outside_lowercase_hex() {
        let token = format!("pk_live_{}.sk_live_{}", "AB".repeat(12), "0".repeat(64));
        assert_eq!(ApiKey::parse(&token), Err(ApiKeyError::IdAlphabet));
        assert_eq!(
            ApiKeyId::parse(&"g".repeat(24)),
            Err(ApiKeyError::IdAlphabet)
        );
    }

    #[test]
    fn rejects_secrets_of_the_wrong_length() {
        assert_eq!(
            ApiKey::parse(&with_secret(&"0".repeat(63))),
            Err(ApiKeyError::SecretLength { got: 63 })
        );
        assert_eq!(
            ApiKey::parse(&with_secret(&"0".repeat(65))),
            Err(ApiKeyError::SecretLength { got: 65 })
        );
        // Trailing whitespace (a common copy-paste slip) is a length error, not silently trimmed.
        let err = ApiKey::parse(&with_secret(&format!("{}\n", "0".repeat(64))));
        assert_eq!(err, Err(ApiKeyError::SecretLength { got: 65 }));
    }

    #[test]
    fn rejects_secrets_outside_lowercase_hex() {
        let mut secret = "0".repeat(63);
        secret.push('F');
        assert_eq!(
            ApiKey::parse(&with_secret(&secret)),
            Err(ApiKeyError::SecretAlphabet)
        );
        let mut multibyte = "0".repeat(63);
        multibyte.push('é');
        assert_eq!(
            ApiKey::parse(&with_secret(&multibyte)),
            Err(ApiKeyError::SecretAlphabet)
        );
    }

    #[test]
    fn error_messages_do_not_echo_the_input() {
        let secret = format!("{}Z", "9".repeat(63));
        let err = ApiKey::parse(&with_secret(&secret)).unwrap_err();
        assert!(!err.to_string().contains("999"));
    }

    #[test]
    fn key_names_are_trimmed_bounded_and_printable() {
        assert_eq!(KeyName::parse("  CI  ").unwrap().as_str(), "CI");
        assert_eq!(KeyName::parse("   "), Err(KeyNameError::Length));
        assert_eq!(KeyName::parse(&"x".repeat(101)), Err(KeyNameError::Length));
        assert!(KeyName::parse(&"é".repeat(100)).is_ok(), "characters, not bytes");
        assert_eq!(KeyName::parse("a\u{7}b"), Err(KeyNameError::ControlCharacters));
    }
}
