//! Request extractors whose every failure is a problem+json: JSON bodies (with the JSON path of
//! a wrong field), path ids, query strings and the `Idempotency-Key` header.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::MAX_REQUEST_BODY;
use crate::problem::Problem;

/// A JSON request body (`Content-Type: application/json` or `…+json`).
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        if !has_json_content_type(req.headers()) {
            return Err(Problem::unsupported_media_type());
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body kept as bytes (for request fingerprints), parsed on demand.
#[derive(Debug, Clone)]
pub struct RawJson(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawJson {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        if !has_json_content_type(req.headers()) {
            return Err(Problem::unsupported_media_type());
        }
        read_body(req, state).await.map(RawJson)
    }
}

impl RawJson {
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Problem> {
        parse_json(&self.0)
    }
}

/// The body as bytes, within the API's size limit.
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Problem> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Problem::payload_too_large(MAX_REQUEST_BODY)
        } else {
            Problem::bad_request("the request body could not be read")
        }
    })
}

pub fn has_json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses JSON, naming the field at fault: syntax errors are 400, wrong shapes 422 with the
/// field's JSON path (`jobs[2].schedule.kind`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| json_problem(&err.path().to_string(), err.inner()))?;
    de.end().map_err(|e| json_problem(".", &e))?;
    Ok(value)
}

fn json_problem(path: &str, inner: &serde_json::Error) -> Problem {
    match inner.classify() {
        serde_json::error::Category::Data => {
            let field = if path == "." || path.is_empty() { "body".to_owned() } else { path.to_owned() };
            let message = strip_position(&inner.to_string());
            let code = match message.as_str() {
                m if m.starts_with("unknown field") => "unknown_field",
                m if m.starts_with("missing field") => "required",
                m if m.starts_with("invalid type") => "invalid_type",
                _ => "invalid_value",
            };
            Problem::invalid_field(field, code, message)
        }
        _ => Problem::bad_request(format!("the body is not valid JSON: {inner}")),
    }
}

/// serde_json appends " at line L column C" to data errors; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Path parameters (ids); a malformed id is a 400.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| Problem::bad_request(format!("invalid path: {}; ids are UUIDs", e.body_text())))
    }
}

/// A query string; unknown parameters are ignored, malformed ones are a 400.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| Problem::bad_request(e.body_text()))
    }
}

/// The optional `Idempotency-Key` header: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let Some(value) = parts.headers.get("idempotency-key") else { return Ok(IdempotencyKey(None)) };
        match value.to_str() {
            Ok(v) if (1..=255).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()) => {
                Ok(IdempotencyKey(Some(v.to_owned())))
            }
            _ => Err(Problem::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good choice)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    #[test]
    fn data_errors_name_the_field() {
        let p = parse_json::<Outer>(br#"{"items": [{"n": 1}, {"n": "x"}]}"#).unwrap_err();
        assert_eq!(p.status, 422);
        assert_eq!(p.errors[0].field, "items[1].n");
        assert_eq!(p.errors[0].code, "invalid_type");
        assert!(!p.errors[0].message.contains("line"), "{}", p.errors[0].message);
        let p = parse_json::<Outer>(br#"{"items": [], "extra": 1}"#).unwrap_err();
        assert_eq!(p.errors[0].code, "unknown_field");
        let p = parse_json::<Outer>(br#"{}"#).unwrap_err();
        assert_eq!((p.errors[0].field.as_str(), p.errors[0].code.as_str()), ("body", "required"));
    }

    #[test]
    fn syntax_errors_and_trailing_garbage_are_bad_requests() {
        assert_eq!(parse_json::<Outer>(br#"{"items": ["#).unwrap_err().status, 400);
        assert_eq!(parse_json::<Outer>(br#"{"items": []} x"#).unwrap_err().status, 400);
        assert!(parse_json::<Outer>(br#" {"items": []} "#).is_ok());
    }

    #[test]
    fn json_content_types() {
        let mut h = axum::http::HeaderMap::new();
        assert!(!has_json_content_type(&h));
        h.insert(header::CONTENT_TYPE, "application/json; charset=utf-8".parse().unwrap());
        assert!(has_json_content_type(&h));
        h.insert(header::CONTENT_TYPE, "application/merge-patch+json".parse().unwrap());
        assert!(has_json_content_type(&h));
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!has_json_content_type(&h));
    }
}

/// `?overlap_secs=`: how long a rotated credential (an API key, the signing secrets) keeps
/// working after its replacement is made.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RotateQuery {
    /// How long the credential being replaced keeps working, 0 to 604800 s (default 86400).
    #[param(minimum = 0, maximum = 604800)]
    pub overlap_secs: Option<u32>,
}

impl RotateQuery {
    /// The overlap asked for, or the default; more than the most is a 400.
    pub fn overlap(&self) -> Result<u32, Problem> {
        use domain::lifetimes::{ROTATION_OVERLAP_DEFAULT_SECS, ROTATION_OVERLAP_MAX_SECS};
        match self.overlap_secs.unwrap_or(ROTATION_OVERLAP_DEFAULT_SECS) {
            secs if secs <= ROTATION_OVERLAP_MAX_SECS => Ok(secs),
            _ => Err(Problem::bad_request(format!("overlap_secs is at most {ROTATION_OVERLAP_MAX_SECS} (7 days)"))),
        }
    }
}
