//! E-mail addresses as Prikke accepts them (waitlist, sign-up, invitations, alert channels): a
//! deliberately conservative subset of RFC 5321 that real mail systems deliver to.

use std::fmt;

/// Why an address was refused. Messages are written for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("enter an e-mail address")]
    Empty,
    #[error("an e-mail address is at most 254 characters")]
    TooLong,
    #[error("an e-mail address needs exactly one @, as in name@example.com")]
    MissingAt,
    #[error("the part before the @ must be 1 to 64 characters of letters, digits and .!#$%&'*+/=?^_`{{|}}~-, without leading, trailing or doubled dots")]
    InvalidLocalPart,
    #[error("the part after the @ must be a domain name such as example.com")]
    InvalidDomain,
}

/// A syntactically valid address, trimmed; the domain part is lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = match s.split_once('@') {
            Some((l, d)) if !d.contains('@') => (l, d),
            _ => return Err(EmailError::MissingAt),
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
        if !local_ok {
            return Err(EmailError::InvalidLocalPart);
        }
        let domain = domain.to_ascii_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            && labels.last().is_some_and(|tld| tld.len() >= 2 && !tld.bytes().all(|b| b.is_ascii_digit()));
        if !domain_ok {
            return Err(EmailError::InvalidDomain);
        }
        Ok(EmailAddress(format!("{local}@{domain}")))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_normalises_the_domain() {
        assert_eq!(EmailAddress::parse("  Kari.Nordmann+jobs@Example.NO ").unwrap().as_str(), "Kari.Nordmann+jobs@example.no");
        assert!(EmailAddress::parse("a@b.co").is_ok());
        assert!(EmailAddress::parse("o'brien@mail.example-host.ie").is_ok());
    }

    #[test]
    fn every_refusal_has_its_reason() {
        let cases = [
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("no-at-sign.example.com", EmailError::MissingAt),
            ("two@@example.com", EmailError::MissingAt),
            ("a@b@example.com", EmailError::MissingAt),
            ("@example.com", EmailError::InvalidLocalPart),
            (".dot@example.com", EmailError::InvalidLocalPart),
            ("dot.@example.com", EmailError::InvalidLocalPart),
            ("do..ts@example.com", EmailError::InvalidLocalPart),
            ("sp ace@example.com", EmailError::InvalidLocalPart),
            ("<script>@example.com", EmailError::InvalidLocalPart),
            ("a@localhost", EmailError::InvalidDomain),
            ("a@-bad.com", EmailError::InvalidDomain),
            ("a@bad-.com", EmailError::InvalidDomain),
            ("a@exa mple.com", EmailError::InvalidDomain),
            ("a@example..com", EmailError::InvalidDomain),
            ("a@example.c", EmailError::InvalidDomain),
            ("a@127.0.0.1", EmailError::InvalidDomain),
        ];
        for (input, want) in cases {
            assert_eq!(EmailAddress::parse(input), Err(want.clone()), "{input:?}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(EmailAddress::parse(&long_local), Err(EmailError::InvalidLocalPart));
        let too_long = format!("a@{}.com", "b".repeat(260));
        assert_eq!(EmailAddress::parse(&too_long), Err(EmailError::TooLong));
    }
}
