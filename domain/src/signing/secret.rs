//! The `whsec_` signing secret: parsing, generation, and a pre-keyed HMAC state.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose::STANDARD};
use hmac::{Hmac, KeyInit};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub(super) type HmacSha256 = Hmac<Sha256>;

/// Standard base64 that accepts the secret with or without `=` padding (libraries differ).
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

const PREFIX: &str = "whsec_";

/// A symmetric Standard Webhooks signing secret (24 to 64 random bytes).
///
/// `Display` (and therefore `to_string`) writes the `whsec_<base64>` form that is stored and
/// shown to the user once; `Debug` never reveals it. The keyed HMAC state is computed once here,
/// so signing a request costs only the message blocks.
#[derive(Clone)]
pub struct SigningSecret {
    bytes: Vec<u8>,
    keyed: HmacSha256,
}

/// Why a signing secret was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningSecretError {
    #[error("a signing secret must start with \"whsec_\"")]
    MissingPrefix,
    #[error("the part after \"whsec_\" is not valid base64")]
    InvalidBase64,
    #[error("a signing secret must be at least {min} bytes long, this one is {len}", min = SigningSecret::MIN_BYTES)]
    TooShort { len: usize },
    #[error("a signing secret must be at most {max} bytes long, this one is {len}", max = SigningSecret::MAX_BYTES)]
    TooLong { len: usize },
}

impl SigningSecret {
    /// The Standard Webhooks minimum: 192 bits.
    pub const MIN_BYTES: usize = 24;
    /// The Standard Webhooks maximum: 512 bits.
    pub const MAX_BYTES: usize = 64;

    /// A secret from raw key bytes (24..=64 of them).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SigningSecretError> {
        if bytes.len() < Self::MIN_BYTES {
            return Err(SigningSecretError::TooShort { len: bytes.len() });
        }
        if bytes.len() > Self::MAX_BYTES {
            return Err(SigningSecretError::TooLong { len: bytes.len() });
        }
        Ok(Self::from_valid_bytes(bytes.to_vec()))
    }

    /// A fresh secret from 32 bytes the caller drew from a cryptographically secure source.
    pub fn generate(random: [u8; 32]) -> Self {
        Self::from_valid_bytes(random.to_vec())
    }

    fn from_valid_bytes(bytes: Vec<u8>) -> Self {
        // HMAC accepts keys of any length; the length bounds were checked by the caller.
        let keyed = <HmacSha256 as KeyInit>::new_from_slice(&bytes)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
        SigningSecret { bytes, keyed }
    }

    /// The raw key bytes. Handle with care: this is the secret itself.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(super) fn keyed_hmac(&self) -> HmacSha256 {
        self.keyed.clone()
    }
}

impl FromStr for SigningSecret {
    type Err = SigningSecretError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let encoded = s
            .strip_prefix(PREFIX)
            .ok_or(SigningSecretError::MissingPrefix)?;
        let bytes = LENIENT_BASE64
            .decode(encoded)
            .map_err(|_| SigningSecretError::InvalidBase64)?;
        Self::from_bytes(&bytes)
    }
}

impl fmt::Display for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        f.write_str(&STANDARD.encode(&self.bytes))
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(whsec_<redacted>)")
    }
}

impl PartialEq for SigningSecret {
    fn eq(&self, other: &Self) -> bool {
        self.bytes.ct_eq(&other.bytes).into()
    }
}

impl Eq for SigningSecret {}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn parses_and_displays_the_whsec_form() {
        let s: SigningSecret = VECTOR_SECRET.parse().unwrap();
        assert_eq!(s.expose_bytes().len(), 24);
        assert_eq!(s.to_string(), VECTOR_SECRET);
    }

    #[test]
    fn accepts_unpadded_base64_and_displays_it_padded() {
        let padded = SigningSecret::generate([7; 32]).to_string();
        assert!(padded.ends_with('='));
        let unpadded: SigningSecret = padded.trim_end_matches('=').parse().unwrap();
        assert_eq!(unpadded.to_string(), padded);
    }

    #[test]
    fn debug_is_redacted() {
        let s: SigningSecret = VECTOR_SECRET.parse().unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("MfKQ9r8"));
        assert!(debug.contains("redacted"));
    }

    #[test]
    fn rejects_a_missing_prefix() {
        let err = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse::<SigningSecret>();
        assert_eq!(err.unwrap_err(), SigningSecretError::MissingPrefix);
        assert!(
            "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
                .parse::<SigningSecret>()
                .is_err()
        );
    }

    #[test]
    fn rejects_invalid_base64() {
        let err = "whsec_not*base64!".parse::<SigningSecret>().unwrap_err();
        assert_eq!(err, SigningSecretError::InvalidBase64);
    }

    #[test]
    fn rejects_short_secrets_naming_the_minimum() {
        // 16 bytes of key.
        let err = "whsec_AAAAAAAAAAAAAAAAAAAAAA=="
            .parse::<SigningSecret>()
            .unwrap_err();
        assert_eq!(err, SigningSecretError::TooShort { len: 16 });
        assert!(err.to_string().contains("at least 24 bytes"));
        assert_eq!(
            SigningSecret::from_bytes(&[1; 23]).unwrap_err(),
            SigningSecretError::TooShort { len: 23 }
        );
        assert!("whsec_".parse::<SigningSecret>().is_err());
    }

    #[test]
    fn rejects_overlong_secrets() {
        assert_eq!(
            SigningSecret::from_bytes(&[1; 65]).unwrap_err(),
            SigningSecretError::TooLong { len: 65 }
        );
        assert!(SigningSecret::from_bytes(&[1; 64]).is_ok());
        assert!(SigningSecret::from_bytes(&[1; 24]).is_ok());
    }

    #[test]
    fn equality_compares_key_bytes() {
        assert_eq!(
            SigningSecret::generate([1; 32]),
            SigningSecret::generate([1; 32])
        );
        assert_ne!(
            SigningSecret::generate([1; 32]),
            SigningSecret::generate([2; 32])
        );
    }
}
