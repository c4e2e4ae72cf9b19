//! RFC 9457 problem details (`application/problem+json`): the one error shape of the API.
//! Every problem has a stable `type` URI (`https://prikke.eu/problems/<slug>`); validation
//! problems list every invalid field; 5xx bodies are generic while the cause is logged.
//!
//! | status | slug                     | when                                                        |
//! |--------|--------------------------|-------------------------------------------------------------|
//! | 400    | `bad-request`            | malformed JSON, query or path, an unknown cursor            |
//! | 401    | `unauthorized`           | missing, malformed, unknown or revoked API key              |
//! | 403    | `job-limit-reached`      | the plan's job count is used up                             |
//! | 403    | `channel-limit-reached`  | the plan's notification channels of that kind are used up   |
//! | 403    | `key-limit-reached`      | the organization has as many API keys in use as allowed     |
//! | 403    | `quota-exceeded`         | the plan's monthly executions are used up                   |
//! | 403    | `not-through-edge`       | production only: the request did not come through the edge  |
//! | 404    | `not-found`              | no such route, or no such resource *in your organization*   |
//! | 405    | `method-not-allowed`     | the route exists, the method does not                       |
//! | 409    | `conflict`               | a unique key is taken, an execution is not finished yet      |
//! | 413    | `payload-too-large`      | the request body is over the limit                          |
//! | 415    | `unsupported-media-type` | a JSON body without `Content-Type: application/json`        |
//! | 422    | `validation`             | well-formed input breaking a rule; `errors` lists each field |
//! | 422    | `idempotency-key-reused` | an `Idempotency-Key` sent again with a different request    |
//! | 429    | `rate-limited`           | too many requests; `Retry-After` says when to come back     |
//! | 429    | `pending-limit`          | the plan's waiting runs (count or bytes) are used up        |
//! | 500    | `internal`               | our fault; logged, never explained in the body              |
//! | 503    | `unavailable`            | billing not configured here, or the status page cannot read |
//! |        |                          | its data (an API call whose database fails is a 500)         |

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The media type of every error response.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// One invalid field, for validation problems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldProblem {
    /// JSON path of the field, e.g. `headers[2].name` or `jobs[0].schedule.expr`.
    #[schema(example = "schedule.expr")]
    pub field: String,
    /// Stable machine-readable code, e.g. `url_scheme`.
    #[schema(example = "schedule_cron")]
    pub code: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl From<&domain::job::FieldError> for FieldProblem {
    fn from(e: &domain::job::FieldError) -> Self {
        FieldProblem { field: e.field.clone(), code: e.code.to_owned(), message: e.message.clone() }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable URI naming the kind of problem; clients may branch on it.
    #[serde(rename = "type")]
    #[schema(example = "https://prikke.eu/problems/validation")]
    pub type_uri: String,
    /// Short summary of the kind of problem.
    pub title: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// What happened in this case, for people.
    pub detail: String,
    /// Every invalid field (validation problems only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    #[serde(skip)]
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            type_uri: domain::problem::type_uri(slug),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Adds a response header (e.g. `Retry-After`).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The slug of the `type` URI, e.g. `validation`.
    pub fn slug(&self) -> &str {
        self.type_uri.strip_prefix(domain::problem::TYPE_BASE).unwrap_or(&self.type_uri)
    }

    pub fn validation(detail: impl Into<String>, errors: Vec<FieldProblem>) -> Self {
        Problem { errors, ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", "Invalid request", detail) }
    }

    /// A validation problem with a single field.
    pub fn invalid_field(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let field = field.into();
        Self::validation(
            format!("{field}: {message}"),
            vec![FieldProblem { field, code: code.to_owned(), message }],
        )
    }

    /// Every field error of a domain validation, with `prefix` before each path (e.g. `jobs[2].`).
    pub fn from_validation(errors: &domain::job::ValidationErrors, prefix: &str) -> Self {
        let list: Vec<FieldProblem> = errors
            .iter()
            .map(|e| FieldProblem { field: format!("{prefix}{}", e.field), ..FieldProblem::from(e) })
            .collect();
        let detail = match list.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid; see errors", many.len()),
        };
        Self::validation(detail, list)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", detail)
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"prikke\""))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", format!("{what} not found"))
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed", "this route does not accept that method")
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            format!("the request body is larger than the {limit} bytes this API accepts"),
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as JSON with the header Content-Type: application/json",
        )
    }

    pub fn job_limit(tier: domain::tier::Tier, max: u32, current: i64, adding: i64) -> Self {
        let request = match adding {
            1 => "another one".to_owned(),
            n => format!("{n} more"),
        };
        Self::new(
            StatusCode::FORBIDDEN,
            "job-limit-reached",
            "Job limit reached",
            format!(
                "the {} plan allows {max} jobs; this organization has {current} and the request would add {request}; delete jobs or upgrade to Pro for unlimited jobs",
                tier.display_name()
            ),
        )
    }

    pub fn key_limit(max: usize) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "key-limit-reached",
            "API key limit reached",
            format!("an organization may have {max} API keys in use at once; revoke one you no longer need first"),
        )
    }

    pub fn channel_limit(tier: domain::tier::Tier, kind: domain::notification::ChannelKind, max: u32) -> Self {
        let what = match kind {
            domain::notification::ChannelKind::Email => "e-mail",
            domain::notification::ChannelKind::Webhook => "webhook",
        };
        Self::new(
            StatusCode::FORBIDDEN,
            "channel-limit-reached",
            "Channel limit reached",
            format!(
                "the {} plan allows {max} {what} notification channel(s) and this organization has them; delete one, or upgrade to Pro for unlimited channels",
                tier.display_name()
            ),
        )
    }

    /// Too many runs (or bytes) waiting to be delivered: 429, they drain as they are sent.
    pub fn pending_limit(tier: domain::tier::Tier, detail: String) -> Self {
        let upgrade = match tier {
            domain::tier::Tier::Free => "; the Pro plan allows 50,000",
            domain::tier::Tier::Pro => "",
        };
        Self::new(StatusCode::TOO_MANY_REQUESTS, "pending-limit", "Too many runs waiting", format!("{detail}{upgrade}"))
            .with_header(header::RETRY_AFTER, HeaderValue::from(60u64))
    }

    pub fn quota_exceeded(tier: domain::tier::Tier, limit: u32, resets_at: chrono::DateTime<chrono::Utc>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "quota-exceeded",
            "Monthly quota exceeded",
            format!(
                "this organization has used the {limit} executions of the {} plan for this month; the quota resets at {}{}",
                tier.display_name(),
                resets_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                match tier {
                    domain::tier::Tier::Free => "; upgrade to Pro for 250,000 executions a month",
                    domain::tier::Tier::Pro => "",
                }
            ),
        )
    }

    pub fn idempotency_key_reused() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "Idempotency key reused",
            "this Idempotency-Key was already used with a different request; use a new key for a new request",
        )
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("rate limit exceeded; retry in {retry_after_secs} s"),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after_secs))
    }

    /// A server-side failure. The cause goes to the log (with its source chain), never to the client.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = cause.to_string();
        let mut source = cause.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(error = %chain, "internal error");
        Self::internal_shown()
    }

    /// What the client sees of an internal error (nothing of its cause).
    pub fn internal_shown() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "something went wrong on our side; it has been logged",
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable", detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(mut self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = std::mem::take(&mut self.headers);
        let mut res = (status, axum::Json(&self)).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        for (name, value) in headers {
            res.headers_mut().insert(name, value);
        }
        res
    }
}

impl From<store::StoreError> for Problem {
    fn from(err: store::StoreError) -> Self {
        Problem::internal(&err)
    }
}

impl From<sqlx::Error> for Problem {
    fn from(err: sqlx::Error) -> Self {
        Problem::internal(&err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(res: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn renders_problem_json_with_headers() {
        let res = Problem::rate_limited(7).into_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::CONTENT_TYPE], PROBLEM_CONTENT_TYPE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "7");
        let body = body_of(res).await;
        assert_eq!(body["type"], "https://prikke.eu/problems/rate-limited");
        assert_eq!(body["status"], 429);
        assert!(body.get("errors").is_none(), "no empty errors list");
    }

    #[tokio::test]
    async fn internal_errors_reveal_nothing() {
        let cause = std::io::Error::other("password=hunter2 at db.internal:5432");
        let res = Problem::internal(&cause).into_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = body_of(res).await.to_string();
        assert!(!text.contains("hunter2") && !text.contains("db.internal"), "{text}");
    }

    #[test]
    fn validation_lists_every_field_with_a_prefix() {
        let errors = domain::job::ValidationErrors(vec![
            domain::job::FieldError::new("url", "url_scheme", "use http or https"),
            domain::job::FieldError::new("name", "name_empty", "a name is required"),
        ]);
        let p = Problem::from_validation(&errors, "jobs[1].");
        assert_eq!(p.status, 422);
        assert_eq!(p.slug(), "validation");
        assert_eq!(p.errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["jobs[1].url", "jobs[1].name"]);
    }
}
