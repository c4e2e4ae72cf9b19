//! People and their access: roles in an organization and what each may do, the single-use links
//! e-mailed to them, sessions, and the password rule. No I/O and no clock: tokens are made from
//! the caller's random bytes, lifetimes are durations the caller adds to its "now".
//!
//! | role     | jobs, monitors, history | keys, channels, members, signing secrets, audit log | plan, deletion |
//! |----------|-------------------------|-----------------------------------------------------|----------------|
//! | member   | yes                     | no                                                  | no             |
//! | admin    | yes                     | yes                                                 | no             |
//! | owner    | yes                     | yes                                                 | yes            |

use chrono::TimeDelta;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::names::stored_names;

/// A member's role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

stored_names!(Role, "role" {
    Member => "member",
    Admin => "admin",
    Owner => "owner",
});

impl Role {
    /// Keys, channels, members and invitations, signing secrets, the audit log.
    pub const fn can_administer(self) -> bool {
        matches!(self, Role::Admin | Role::Owner)
    }

    /// The plan, and deleting the organization.
    pub const fn can_own(self) -> bool {
        matches!(self, Role::Owner)
    }

    /// Whether someone with this role may give `other` to a member: admins hand out member and
    /// admin, only owners make owners.
    pub const fn may_grant(self, other: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => !matches!(other, Role::Owner),
            Role::Member => false,
        }
    }
}

/// What an e-mailed link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkPurpose {
    /// Confirms the address given at sign-up.
    VerifyEmail,
    /// Signs in without a password.
    MagicLink,
    /// Sets a new password.
    PasswordReset,
}

stored_names!(LinkPurpose, "link purpose" {
    VerifyEmail => "verify_email",
    MagicLink => "magic_link",
    PasswordReset => "password_reset",
});

/// What an account e-mail is (the outbox keeps it with the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    ConfirmEmail,
    MagicLink,
    PasswordReset,
    Invite,
    /// An owner is told their plan changed and what it paused.
    PlanChanged,
}

stored_names!(MailKind, "mail kind" {
    ConfirmEmail => "confirm_email",
    MagicLink => "magic_link",
    PasswordReset => "password_reset",
    Invite => "invite",
    PlanChanged => "plan_changed",
});

/// How long an e-mailed sign-in, confirmation or reset link works.
pub const EMAIL_LINK_LIFETIME: TimeDelta = TimeDelta::minutes(15);
/// How long an invitation can be accepted.
pub const INVITE_LIFETIME: TimeDelta = TimeDelta::days(7);
/// How long a session lasts without being used (each use extends it).
pub const SESSION_IDLE_LIFETIME: TimeDelta = TimeDelta::days(14);

/// A secret for a link or a session cookie, from 32 random bytes: 64 lowercase hex digits.
pub fn new_token(random: [u8; 32]) -> String {
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// What is stored of a token: its SHA-256 (the token is 256 random bits, so a fast hash is
/// enough; see `api_key` for the reasoning).
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The password rule: 10 to 256 characters, anything allowed (NIST SP 800-63B: length, not
/// composition). Checked against a short list of the most common passwords.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("use at least 10 characters")]
    TooShort,
    #[error("use at most 256 characters")]
    TooLong,
    #[error("this password is one of the most common ones; choose another")]
    Common,
}

/// Checks a new password against [`PasswordError`]'s rule.
pub fn check_password(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < 10 {
        return Err(PasswordError::TooShort);
    }
    if n > 256 {
        return Err(PasswordError::TooLong);
    }
    const COMMON: [&str; 12] = [
        "1234567890", "0123456789", "qwertyuiop", "password12", "password123", "1q2w3e4r5t", "iloveyou12", "qwerty1234",
        "1234567891", "abcdefghij", "passw0rd123", "welcome123",
    ];
    if COMMON.iter().any(|c| c.eq_ignore_ascii_case(password)) {
        return Err(PasswordError::Common);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_what_the_table_says() {
        assert!(!Role::Member.can_administer() && Role::Admin.can_administer() && Role::Owner.can_administer());
        assert!(!Role::Admin.can_own() && Role::Owner.can_own());
        assert!(Role::Admin.may_grant(Role::Admin) && !Role::Admin.may_grant(Role::Owner) && Role::Owner.may_grant(Role::Owner));
        assert!(!Role::Member.may_grant(Role::Member));
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
    }

    #[test]
    fn tokens_are_hex_and_stored_as_their_hash() {
        let t = new_token([0xab; 32]);
        assert_eq!(t.len(), 64);
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(token_hash(&t), token_hash(&t.clone()));
        assert_ne!(token_hash(&t), token_hash(&new_token([0xac; 32])));
    }

    #[test]
    fn passwords_need_length_not_composition() {
        assert_eq!(check_password("short"), Err(PasswordError::TooShort));
        assert_eq!(check_password(&"x".repeat(257)), Err(PasswordError::TooLong));
        assert_eq!(check_password("Password123"), Err(PasswordError::Common));
        assert_eq!(check_password("correct horse battery"), Ok(()));
        assert_eq!(check_password("ääääääääää"), Ok(()), "characters, not bytes");
    }
}
