//! E-mail addresses as Prikke accepts them (waitlist at the edge and in the API, sign-up,
//! invitations, alert channels): a deliberately conservative subset of RFC 5321 that real mail
//! systems deliver to, with the messages shown when an address is refused. One set of rules, so
//! the edge and the API never disagree about an address.

use std::fmt;

use thiserror::Error;

/// Longest address a mail system can route (RFC 5321 path limit minus the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest local part (before the `@`) RFC 5321 allows.
pub const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;

/// Why an address was refused. The messages are shown to visitors as they are.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EmailError {
    #[error("Please enter an email address.")]
    Empty,
    #[error("That email address is too long: at most {MAX_EMAIL_LEN} characters.")]
    TooLong,
    #[error("An email address cannot contain spaces.")]
    ContainsWhitespace,
    #[error("An email address needs exactly one \"@\", as in name@example.com.")]
    AtSign,
    #[error("The part before the \"@\" is missing.")]
    MissingLocalPart,
    #[error("The part before the \"@\" is too long: at most {MAX_LOCAL_LEN} characters.")]
    LocalPartTooLong,
    #[error("The part before the \"@\" contains a character that is not allowed: {0:?}.")]
    LocalPartCharacter(char),
    #[error(
        "The part before the \"@\" cannot start or end with a dot, or contain two dots in a row."
    )]
    LocalPartDots,
    #[error("The domain after the \"@\" is missing.")]
    MissingDomain,
    #[error("The domain \"{0}\" is not valid: it needs a name and an ending, as in example.com.")]
    DomainShape(String),
    #[error("The domain \"{0}\" contains a character that is not allowed.")]
    DomainCharacter(String),
}

/// An address that passed [`EmailAddress::parse`]: trimmed, with its domain in lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses what a visitor typed. Surrounding whitespace is ignored; the domain is lower-cased
    /// (domains are case-insensitive; the local part is kept as typed).
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.chars().count() > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong);
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(EmailError::ContainsWhitespace);
        }
        let mut parts = trimmed.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::AtSign);
        };
        check_local_part(local)?;
        let domain = domain.to_ascii_lowercase();
        check_domain(&domain)?;
        Ok(Self(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Characters the HTML standard's `type=email` accepts before the `@`, besides letters and digits.
const LOCAL_PUNCTUATION: &str = ".!#$%&'*+/=?^_`{|}~-";

fn check_local_part(local: &str) -> Result<(), EmailError> {
    if local.is_empty() {
        return Err(EmailError::MissingLocalPart);
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err(EmailError::LocalPartTooLong);
    }
    if let Some(bad) = local
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || LOCAL_PUNCTUATION.contains(*c)))
    {
        return Err(EmailError::LocalPartCharacter(bad));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailError::LocalPartDots);
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), EmailError> {
    if domain.is_empty() {
        return Err(EmailError::MissingDomain);
    }
    if !domain
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(EmailError::DomainCharacter(domain.to_owned()));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let shape_error = || EmailError::DomainShape(domain.to_owned());
    if labels.len() < 2 {
        return Err(shape_error());
    }
    for label in &labels {
        if label.is_empty()
            || label.len() > MAX_LABEL_LEN
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(shape_error());
        }
    }
    let top_level = labels[labels.len() - 1];
    if top_level.len() < 2 || top_level.chars().all(|c| c.is_ascii_digit()) {
        return Err(shape_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_normalises_the_domain() {
        assert_eq!(
            EmailAddress::parse("ada@example.eu").unwrap().as_str(),
            "ada@example.eu"
        );
        assert_eq!(
            EmailAddress::parse("  Ada.Lovelace+news@Mail.Example.EU \n")
                .unwrap()
                .as_str(),
            "Ada.Lovelace+news@mail.example.eu"
        );
        assert_eq!(
            EmailAddress::parse("o'brien_{x}@sub-domain.example.co.uk")
                .unwrap()
                .as_str(),
            "o'brien_{x}@sub-domain.example.co.uk"
        );
        assert_eq!(
            EmailAddress::parse("x@xn--bcher-kva.example")
                .unwrap()
                .to_string(),
            "x@xn--bcher-kva.example"
        );
    }

    #[test]
    fn refuses_empty_and_blank_input() {
        assert_eq!(EmailAddress::parse(""), Err(EmailError::Empty));
        assert_eq!(EmailAddress::parse("   \t"), Err(EmailError::Empty));
    }

    #[test]
    fn refuses_wrong_number_of_at_signs() {
        assert_eq!(
            EmailAddress::parse("ada.example.eu"),
            Err(EmailError::AtSign)
        );
        assert_eq!(
            EmailAddress::parse("ada@home@example.eu"),
            Err(EmailError::AtSign)
        );
    }

    #[test]
    fn refuses_inner_whitespace() {
        assert_eq!(
            EmailAddress::parse("ada lovelace@example.eu"),
            Err(EmailError::ContainsWhitespace)
        );
    }

    #[test]
    fn refuses_bad_local_parts() {
        assert_eq!(
            EmailAddress::parse("@example.eu"),
            Err(EmailError::MissingLocalPart)
        );
        assert_eq!(
            EmailAddress::parse(".ada@example.eu"),
            Err(EmailError::LocalPartDots)
        );
        assert_eq!(
            EmailAddress::parse("ada.@example.eu"),
            Err(EmailError::LocalPartDots)
        );
        assert_eq!(
            EmailAddress::parse("a..da@example.eu"),
            Err(EmailError::LocalPartDots)
        );
        assert_eq!(
            EmailAddress::parse("a(da)@example.eu"),
            Err(EmailError::LocalPartCharacter('('))
        );
        assert_eq!(
            EmailAddress::parse("åda@example.eu"),
            Err(EmailError::LocalPartCharacter('å'))
        );
        let long_local = format!("{}@example.eu", "a".repeat(MAX_LOCAL_LEN + 1));
        assert_eq!(
            EmailAddress::parse(&long_local),
            Err(EmailError::LocalPartTooLong)
        );
        let max_local = format!("{}@example.eu", "a".repeat(MAX_LOCAL_LEN));
        assert!(EmailAddress::parse(&max_local).is_ok());
    }

    #[test]
    fn refuses_bad_domains() {
        assert_eq!(EmailAddress::parse("ada@"), Err(EmailError::MissingDomain));
        for domain in [
            "localhost",
            "example.",
            ".example.eu",
            "example..eu",
            "-example.eu",
            "example-.eu",
            "example.e",
            "10.0.0.1",
        ] {
            assert_eq!(
                EmailAddress::parse(&format!("ada@{domain}")),
                Err(EmailError::DomainShape(domain.to_owned())),
                "{domain}"
            );
        }
        assert_eq!(
            EmailAddress::parse("ada@exa_mple.eu"),
            Err(EmailError::DomainCharacter("exa_mple.eu".into()))
        );
        assert_eq!(
            EmailAddress::parse("ada@bücher.eu"),
            Err(EmailError::DomainCharacter("bücher.eu".into()))
        );
        let long_label = format!("ada@{}.eu", "a".repeat(MAX_LABEL_LEN + 1));
        assert!(matches!(
            EmailAddress::parse(&long_label),
            Err(EmailError::DomainShape(_))
        ));
    }

    #[test]
    fn refuses_addresses_over_the_length_limit() {
        let domain = format!(
            "{}.{}.{}.{}.eu",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(63),
            "e".repeat(40)
        );
        let too_long = format!("{}@{domain}", "a".repeat(MAX_EMAIL_LEN - domain.len()));
        assert_eq!(too_long.len(), MAX_EMAIL_LEN + 1);
        assert_eq!(EmailAddress::parse(&too_long), Err(EmailError::TooLong));
        let at_limit = &too_long[1..];
        assert!(EmailAddress::parse(at_limit).is_ok());
    }

    #[test]
    fn messages_are_written_for_visitors() {
        assert_eq!(
            EmailAddress::parse("nope").unwrap_err().to_string(),
            "An email address needs exactly one \"@\", as in name@example.com."
        );
        assert_eq!(
            EmailAddress::parse("ada@localhost")
                .unwrap_err()
                .to_string(),
            "The domain \"localhost\" is not valid: it needs a name and an ending, as in example.com."
        );
    }

    #[test]
    fn every_refusal_has_its_reason() {
        let cases = [
            ("no-at-sign.example.com", EmailError::AtSign),
            ("two@@example.com", EmailError::AtSign),
            ("sp ace@example.com", EmailError::ContainsWhitespace),
            ("a@exa mple.com", EmailError::ContainsWhitespace),
            ("<script>@example.com", EmailError::LocalPartCharacter('<')),
            ("a@-bad.com", EmailError::DomainShape("-bad.com".into())),
            ("a@127.0.0.1", EmailError::DomainShape("127.0.0.1".into())),
            ("a@Example.C", EmailError::DomainShape("example.c".into())),
        ];
        for (input, want) in cases {
            assert_eq!(EmailAddress::parse(input), Err(want), "{input:?}");
        }
    }
}
