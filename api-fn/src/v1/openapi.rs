//! The OpenAPI 3.1 document of the API, generated from the handlers' annotations, and the
//! conventions every operation shares (bearer auth, problem+json errors with their statuses).

use std::sync::OnceLock;

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

use super::{api_keys, audit, channels, execution_schema, executions, job_schema, jobs, monitors, preview, queue, secrets, sync, usage};
use crate::problem::{FieldProblem, PROBLEM_CONTENT_TYPE, Problem};
use crate::{health, pings};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Prikke API",
        version = "1",
        description = "Prikke calls your HTTP endpoints on time: cron schedules, one-time jobs and on-demand calls, each delivered as a Standard Webhooks-signed request with retries and history.\n\nAuthenticate with `Authorization: Bearer pk_live_….sk_live_…`. Errors are RFC 9457 `application/problem+json` documents whose `type` is a stable URI under https://prikke.eu/problems/ (bad-request, unauthorized, job-limit-reached, channel-limit-reached, key-limit-reached, quota-exceeded, not-found, method-not-allowed, conflict, payload-too-large, unsupported-media-type, validation, idempotency-key-reused, rate-limited, internal, unavailable); validation problems list every invalid field in `errors`. Lists are paged with `limit` and `cursor` (pass `next_cursor` on). POSTs that create work accept `Idempotency-Key`. Requests are rate-limited per API key; a 429 carries `Retry-After`."
    ),
    paths(
        jobs::create, jobs::list, jobs::get, jobs::update, jobs::delete, jobs::enable, jobs::disable,
        executions::trigger, executions::list_for_job, executions::list, executions::get, executions::redeliver, executions::redeliver_failed,
        sync::sync, queue::enqueue, preview::preview,
        monitors::create, monitors::list, monitors::get, monitors::update, monitors::delete,
        channels::create, channels::list, channels::get, channels::update, channels::delete, channels::test,
        usage::usage, secrets::list, secrets::rotate,
        api_keys::create, api_keys::list, api_keys::get, api_keys::revoke, api_keys::rotate, audit::list,
        pings::success, pings::start, pings::fail, pings::complete,
        health::health, serve,
    ),
    components(schemas(Problem, FieldProblem, job_schema::JobView, execution_schema::ExecutionView)),
    modifiers(&Conventions),
    tags(
        (name = "jobs", description = "Scheduled HTTP calls"),
        (name = "executions", description = "Runs: history, trigger now, redelivery"),
        (name = "queue", description = "One-off calls"),
        (name = "monitors", description = "Heartbeat monitoring"),
        (name = "alerts", description = "Notification channels: where failure and recovery alerts go"),
        (name = "pings", description = "Public heartbeat endpoints (no API key; the token is the capability)"),
        (name = "account", description = "Usage, API keys, signing secrets and the audit log"),
        (name = "operations", description = "Health and this document"),
    ),
)]
pub struct ApiDoc;

/// Adds the bearer scheme and the problem responses every operation can give.
struct Conventions;

fn problem_response(description: &str, retry_after: bool) -> RefOr<utoipa::openapi::Response> {
    let mut builder = ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_CONTENT_TYPE, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build());
    if retry_after {
        builder = builder.header(
            "Retry-After",
            HeaderBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::Integer))).description(Some("Seconds to wait")).build(),
        );
    }
    RefOr::T(builder.build())
}

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("pk_live_<id>.sk_live_<secret>").build()),
        );
        unique_operation_ids(openapi);
        for (path, item) in openapi.paths.paths.iter_mut() {
            let api = path.starts_with("/api/v1/") && path != "/api/v1/openapi.json";
            let ping = path.starts_with("/ping/");
            let has_id = path.contains('{');
            for op in [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten() {
                let r = &mut op.responses.responses;
                let mut add = |code: &str, description: &str| {
                    r.entry(code.to_owned()).or_insert_with(|| problem_response(description, code == "429"));
                };
                if api || ping {
                    add("400", "Malformed request (JSON, query or path)");
                    add("429", "Rate limited; see Retry-After");
                    add("500", "Internal error (logged; the body says nothing more)");
                    add("503", "A dependency is unavailable");
                }
                if api {
                    add("401", "Missing, malformed, unknown or revoked API key");
                }
                if has_id {
                    add("404", "No such resource in your organization");
                }
                if op.request_body.is_some() || ping {
                    add("413", "The request body is too large");
                }
                if op.request_body.is_some() {
                    add("415", "The body is not JSON");
                    add("422", "Invalid input; `errors` lists every field");
                }
                let idempotent = op.parameters.iter().flatten().any(|p| matches!(p, RefOr::T(p) if p.name.eq_ignore_ascii_case("idempotency-key")));
                if idempotent {
                    add("409", "A request with this Idempotency-Key is still being processed");
                    add("422", "The Idempotency-Key was used with a different request");
                }
            }
        }
    }
}

/// Operation ids are the handlers' names, which repeat across resources (`list`, `get`,
/// `rotate`, …): each becomes `<resource>_<handler>` (`jobs_list`, `api_keys_rotate`), and one
/// handler serving two methods gets the method too (`ping_success_get`). OpenAPI requires them
/// unique; client generators name methods after them, and tools resolve links by them.
fn unique_operation_ids(openapi: &mut utoipa::openapi::OpenApi) {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut named: Vec<(String, &'static str, String)> = Vec::new();
    for (path, item) in openapi.paths.paths.iter() {
        let resource = path.trim_start_matches("/api/v1/").trim_start_matches('/').split(['/', '.']).next().unwrap_or_default().replace('-', "_");
        for (method, op) in [("get", &item.get), ("post", &item.post), ("put", &item.put), ("patch", &item.patch), ("delete", &item.delete)] {
            if let Some(op) = op {
                let handler = op.operation_id.clone().unwrap_or_default();
                let id = if handler.starts_with(&resource) { handler } else { format!("{resource}_{handler}") };
                *seen.entry(id.clone()).or_default() += 1;
                named.push((path.clone(), method, id));
            }
        }
    }
    for (path, method, id) in named {
        let id = if seen[&id] > 1 { format!("{id}_{method}") } else { id };
        if let Some(item) = openapi.paths.paths.get_mut(&path) {
            let op = match method {
                "get" => &mut item.get,
                "post" => &mut item.post,
                "put" => &mut item.put,
                "patch" => &mut item.patch,
                _ => &mut item.delete,
            };
            if let Some(op) = op {
                op.operation_id = Some(id);
            }
        }
    }
}

/// The document, built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(ApiDoc::openapi)
}

/// This OpenAPI 3.1 document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)))]
pub async fn serve() -> Response {
    let mut res = Json(document()).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_are_unique_and_say_their_resource() {
        let doc = serde_json::to_value(document()).unwrap();
        let mut ids: Vec<String> = Vec::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                ids.push(op["operationId"].as_str().expect("every operation has an id").to_owned());
            }
        }
        let count = ids.len();
        for id in ["jobs_list", "executions_list", "monitors_list", "api_keys_rotate", "signing_secrets_rotate", "ping_success_get", "ping_success_post", "openapi_serve"] {
            assert!(ids.contains(&id.to_owned()), "{id} missing from {ids:?}");
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "operation ids repeat");
    }

    #[test]
    fn every_api_operation_is_authenticated_and_documents_problems() {
        let doc = serde_json::to_value(document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 15, "{}", paths.len());
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                if path.starts_with("/api/v1/") && path != "/api/v1/openapi.json" {
                    assert!(op["security"].is_array(), "{method} {path} has no security");
                    assert_eq!(op["responses"]["401"]["content"][PROBLEM_CONTENT_TYPE]["schema"]["$ref"], "#/components/schemas/Problem", "{method} {path}");
                }
                if path.contains('{') {
                    assert!(op["responses"]["404"].is_object(), "{method} {path}");
                }
            }
        }
        assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    }
}
