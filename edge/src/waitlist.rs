//! Waitlist sign-ups: reading the address from a form or JSON body, and reading api-fn's answer.

use serde::Deserialize;
use thiserror::Error;

use crate::email::{EmailAddress, EmailError};
use crate::problem::Problem;

/// Largest sign-up body accepted; an address is at most 254 characters.
pub const MAX_SUBMISSION_BYTES: u64 = 4096;

/// How the sign-up was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmissionFormat {
    /// `application/x-www-form-urlencoded`, from the landing page's form: answered with a page.
    Form,
    /// `application/json`, from scripts: answered with JSON.
    Json,
}

/// Why a sign-up was refused before reaching api-fn. Messages are shown to the visitor.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SubmissionError {
    #[error(
        "Send the address as a form (application/x-www-form-urlencoded) or as JSON (application/json)."
    )]
    UnsupportedMediaType,
    #[error("The sign-up is larger than {MAX_SUBMISSION_BYTES} bytes.")]
    TooLarge,
    #[error("The request body is not valid JSON.")]
    MalformedJson,
    #[error("Send the address in a field named \"email\".")]
    MissingEmail,
    #[error(transparent)]
    InvalidEmail(#[from] EmailError),
}

impl SubmissionError {
    pub fn problem(&self) -> Problem {
        let (slug, title, status) = match self {
            SubmissionError::UnsupportedMediaType => {
                ("unsupported-media-type", "Unsupported media type", 415)
            }
            SubmissionError::TooLarge => ("payload-too-large", "Payload too large", 413),
            SubmissionError::MalformedJson => ("malformed-json", "Malformed JSON", 400),
            SubmissionError::MissingEmail => ("invalid-email", "Invalid email address", 422),
            SubmissionError::InvalidEmail(_) => ("invalid-email", "Invalid email address", 422),
        };
        Problem::new(slug, title, status, self.to_string())
    }
}

/// Picks the format from the `Content-Type` header (parameters such as charset are ignored).
pub fn submission_format(content_type: Option<&str>) -> Result<SubmissionFormat, SubmissionError> {
    let essence = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => Ok(SubmissionFormat::Form),
        "application/json" => Ok(SubmissionFormat::Json),
        _ => Err(SubmissionError::UnsupportedMediaType),
    }
}

#[derive(Deserialize)]
struct JsonSubmission {
    email: Option<serde_json::Value>,
}

/// Reads the `email` field as typed (for showing it again), without validating it.
pub fn read_email_field(format: SubmissionFormat, body: &[u8]) -> Result<String, SubmissionError> {
    if body.len() as u64 > MAX_SUBMISSION_BYTES {
        return Err(SubmissionError::TooLarge);
    }
    match format {
        SubmissionFormat::Form => url::form_urlencoded::parse(body)
            .find(|(name, _)| name == "email")
            .map(|(_, value)| value.into_owned())
            .ok_or(SubmissionError::MissingEmail),
        SubmissionFormat::Json => {
            let submission: JsonSubmission =
                serde_json::from_slice(body).map_err(|_| SubmissionError::MalformedJson)?;
            match submission.email {
                Some(serde_json::Value::String(email)) => Ok(email),
                _ => Err(SubmissionError::MissingEmail),
            }
        }
    }
}

/// Reads and validates the address in a sign-up body.
pub fn parse_submission(
    format: SubmissionFormat,
    body: &[u8],
) -> Result<EmailAddress, SubmissionError> {
    Ok(EmailAddress::parse(&read_email_field(format, body)?)?)
}

/// A stored sign-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Added,
    AlreadyListed,
}

impl Outcome {
    /// Status and JSON body the edge answers a JSON sign-up with (api-fn's contract).
    pub fn json_reply(self) -> (u16, &'static str) {
        match self {
            Outcome::Added => (201, r#"{"status":"added"}"#),
            Outcome::AlreadyListed => (200, r#"{"status":"already_listed"}"#),
        }
    }
}

/// What api-fn's `POST /waitlist` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginReply {
    Stored(Outcome),
    /// api-fn refused the address (422); its `detail` is passed on to the visitor.
    Refused(String),
    /// Anything else: the visitor is told to try again later; the edge logs `status`.
    Failed {
        status: u16,
    },
}

/// Interprets api-fn's answer: 201 `added`, 200 `already_listed`, 422 with a problem `detail`.
pub fn interpret_origin_reply(status: u16, body: &str) -> OriginReply {
    let parsed: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let field = |name: &str| parsed.get(name).and_then(serde_json::Value::as_str);
    match (status, field("status")) {
        (201, Some("added")) => OriginReply::Stored(Outcome::Added),
        (200, Some("already_listed")) => OriginReply::Stored(Outcome::AlreadyListed),
        (422, _) => OriginReply::Refused(
            field("detail")
                .unwrap_or("That email address was not accepted.")
                .to_owned(),
        ),
        _ => OriginReply::Failed { status },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_follows_the_content_type() {
        assert_eq!(
            submission_format(Some("application/x-www-form-urlencoded")),
            Ok(SubmissionFormat::Form)
        );
        assert_eq!(
            submission_format(Some("Application/JSON; charset=utf-8")),
            Ok(SubmissionFormat::Json)
        );
        assert_eq!(
            submission_format(Some("multipart/form-data; boundary=x")),
            Err(SubmissionError::UnsupportedMediaType)
        );
        assert_eq!(
            submission_format(None),
            Err(SubmissionError::UnsupportedMediaType)
        );
    }

    #[test]
    fn reads_the_address_from_a_form() {
        let email = parse_submission(
            SubmissionFormat::Form,
            b"name=Ada&email=ada%2Bnews%40Example.EU",
        )
        .unwrap();
        assert_eq!(email.as_str(), "ada+news@example.eu");
        assert_eq!(
            parse_submission(SubmissionFormat::Form, b"email=+ada%40example.eu+")
                .unwrap()
                .as_str(),
            "ada@example.eu"
        );
    }

    #[test]
    fn keeps_the_typed_value_for_showing_it_again() {
        assert_eq!(
            read_email_field(SubmissionFormat::Form, b"email=not+valid").unwrap(),
            "not valid"
        );
        assert_eq!(
            parse_submission(SubmissionFormat::Form, b"email=not+valid"),
            Err(SubmissionError::InvalidEmail(
                EmailError::ContainsWhitespace
            ))
        );
    }

    #[test]
    fn reads_the_address_from_json() {
        assert_eq!(
            parse_submission(SubmissionFormat::Json, br#"{"email":"ada@example.eu"}"#)
                .unwrap()
                .as_str(),
            "ada@example.eu"
        );
    }

    #[test]
    fn explains_what_is_missing_or_wrong() {
        assert_eq!(
            parse_submission(SubmissionFormat::Form, b"name=Ada"),
            Err(SubmissionError::MissingEmail)
        );
        assert_eq!(
            parse_submission(SubmissionFormat::Json, br#"{"mail":"a@b.eu"}"#),
            Err(SubmissionError::MissingEmail)
        );
        assert_eq!(
            parse_submission(SubmissionFormat::Json, br#"{"email":42}"#),
            Err(SubmissionError::MissingEmail)
        );
        assert_eq!(
            parse_submission(SubmissionFormat::Json, b"{email:"),
            Err(SubmissionError::MalformedJson)
        );
        assert_eq!(
            parse_submission(SubmissionFormat::Json, br#"{"email":"not-an-address"}"#),
            Err(SubmissionError::InvalidEmail(EmailError::AtSign))
        );
        let huge = format!("email={}", "a".repeat(MAX_SUBMISSION_BYTES as usize));
        assert_eq!(
            parse_submission(SubmissionFormat::Form, huge.as_bytes()),
            Err(SubmissionError::TooLarge)
        );
    }

    #[test]
    fn refusals_become_problems_with_the_visitor_message() {
        let problem = SubmissionError::InvalidEmail(EmailError::AtSign).problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.type_uri, "https://prikke.eu/problems/invalid-email");
        assert_eq!(
            problem.detail,
            "An email address needs exactly one \"@\", as in name@example.com."
        );
        assert_eq!(SubmissionError::UnsupportedMediaType.problem().status, 415);
        assert_eq!(SubmissionError::MalformedJson.problem().status, 400);
    }

    #[test]
    fn reads_api_fn_answers() {
        assert_eq!(
            interpret_origin_reply(201, r#"{"status":"added"}"#),
            OriginReply::Stored(Outcome::Added)
        );
        assert_eq!(
            interpret_origin_reply(200, r#"{"status":"already_listed"}"#),
            OriginReply::Stored(Outcome::AlreadyListed)
        );
        assert_eq!(
            interpret_origin_reply(
                422,
                r#"{"type":"x","title":"Invalid","status":422,"detail":"Domain has no mail server."}"#
            ),
            OriginReply::Refused("Domain has no mail server.".into())
        );
        assert_eq!(
            interpret_origin_reply(422, "oops"),
            OriginReply::Refused("That email address was not accepted.".into())
        );
        assert_eq!(
            interpret_origin_reply(500, r#"{"status":"added"}"#),
            OriginReply::Failed { status: 500 }
        );
        assert_eq!(
            interpret_origin_reply(200, "<html>"),
            OriginReply::Failed { status: 200 }
        );
    }

    #[test]
    fn json_replies_follow_the_api_contract() {
        assert_eq!(Outcome::Added.json_reply(), (201, r#"{"status":"added"}"#));
        assert_eq!(
            Outcome::AlreadyListed.json_reply(),
            (200, r#"{"status":"already_listed"}"#)
        );
    }
}
