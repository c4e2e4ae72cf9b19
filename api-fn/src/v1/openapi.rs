//! The OpenAPI 3.1 document of the API, generated from the handlers' annotations, and the
//! conventions every operation shares (bearer auth, problem+json errors with their statuses).

use std::sync::OnceLock;

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::{ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

use super::{api_keys, audit, channels, examples, execution_schema, executions, export, job_schema, jobs, monitors, preview, queue, secrets, sync, usage};
use crate::problem::{FieldProblem, PROBLEM_CONTENT_TYPE, Problem};
use crate::{health, pings};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Prikke API",
        version = "1",
        description = "Prikke calls your HTTP endpoints on time: cron schedules, one-time jobs and on-demand calls, each delivered as a Standard Webhooks-signed request with retries and history.\n\nAuthenticate with `Authorization: Bearer pk_live_….sk_live_…`. Errors are RFC 9457 `application/problem+json` documents whose `type` is a stable URI under https://prikke.eu/problems/ (bad-request, unauthorized, job-limit-reached, channel-limit-reached, key-limit-reached, quota-exceeded, pending-limit, not-found, method-not-allowed, conflict, payload-too-large, unsupported-media-type, validation, idempotency-key-reused, rate-limited, internal, unavailable); validation problems list every invalid field in `errors`. Lists are paged with `limit` and `cursor` (pass `next_cursor` on). POSTs that create work accept `Idempotency-Key`. Requests are rate-limited per API key; a 429 carries `Retry-After`."
    ),
    servers((url = "/", description = "The origin this document was fetched from (https://prikke.eu in production); generated clients take the base URL as a setting")),
    paths(
        jobs::create, jobs::list, jobs::get, jobs::update, jobs::delete, jobs::enable, jobs::disable,
        executions::trigger, executions::list_for_job, executions::list, executions::get, executions::redeliver, executions::redeliver_failed,
        sync::sync, queue::enqueue, preview::preview,
        monitors::create, monitors::list, monitors::get, monitors::update, monitors::delete,
        channels::create, channels::list, channels::get, channels::update, channels::delete, channels::test,
        usage::usage, secrets::list, secrets::rotate,
        api_keys::create, api_keys::list, api_keys::get, api_keys::revoke, api_keys::rotate, audit::list, export::export,
        pings::success, pings::success_get, pings::start, pings::start_get, pings::fail, pings::fail_get, pings::complete, pings::complete_get,
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
        (name = "account", description = "Usage, API keys, signing secrets, the audit log and the export of all data"),
        (name = "operations", description = "Health and this document"),
    ),
)]
pub struct ApiDoc;

/// Adds the bearer scheme and the problem responses every operation can give, each with an
/// example made by the constructor the handlers use and a description naming its `type` URI.
struct Conventions;

/// A problem a whole class of operations can answer.
struct Generic {
    status: &'static str,
    /// Its key among the response's `examples` (its type's slug unless two causes share a type).
    name: &'static str,
    /// What it means, for the response's description.
    phrase: &'static str,
    /// Its example, for the operation at this path.
    example: fn(&str) -> Problem,
}

const BAD_REQUEST: Generic = Generic { status: "400", name: "bad-request", phrase: "Malformed request: unreadable JSON, query, path or header, or an unknown cursor", example: |_| Problem::bad_request("limit must be between 1 and 100, not 500") };
const UNAUTHORIZED: Generic = Generic { status: "401", name: "unauthorized", phrase: "Missing, malformed, unknown or revoked API key", example: |_| Problem::unauthorized("unknown or revoked API key") };
const NOT_FOUND: Generic = Generic { status: "404", name: "not-found", phrase: "No such resource in your organization", example: |path| Problem::not_found(resource_of(path)) };
const IN_PROGRESS: Generic = Generic { status: "409", name: "idempotency-in-progress", phrase: "A request with this Idempotency-Key is still being processed", example: |_| Problem::conflict("a request with this Idempotency-Key is still being processed") };
const TOO_LARGE: Generic = Generic { status: "413", name: "payload-too-large", phrase: "The request body is too large", example: |_| Problem::payload_too_large(crate::MAX_REQUEST_BODY) };
const NOT_JSON: Generic = Generic { status: "415", name: "unsupported-media-type", phrase: "The body is not sent as JSON", example: |_| Problem::unsupported_media_type() };
const INVALID: Generic = Generic { status: "422", name: "validation", phrase: "Invalid input; `errors` lists every invalid field", example: |_| examples::validation() };
const KEY_REUSED: Generic = Generic { status: "422", name: "idempotency-key-reused", phrase: "The Idempotency-Key was used with a different request", example: |_| Problem::idempotency_key_reused() };
const RATE_LIMITED: Generic = Generic { status: "429", name: "rate-limited", phrase: "Too many requests (per API key; pings per client IP); wait `Retry-After` seconds", example: |_| Problem::rate_limited(12) };
const INTERNAL: Generic = Generic { status: "500", name: "internal", phrase: "Internal error (logged; the body says nothing more)", example: |_| Problem::internal_shown() };

/// What a 404 at `path` says is missing (as the handlers name it).
fn resource_of(path: &str) -> &'static str {
    let segment = path.trim_start_matches("/api/v1/").trim_start_matches('/').split('/').next().unwrap_or_default();
    match segment {
        "jobs" => "job",
        "executions" => "execution",
        "monitors" => "monitor",
        "notification-channels" => "notification channel",
        "api-keys" => "API key",
        "ping" if path.starts_with("/ping/c/") => "completion URL",
        "ping" => "monitor",
        _ => "route",
    }
}

fn problem_type(value: &serde_json::Value) -> Option<&str> {
    value.get("type").and_then(|t| t.as_str())
}

/// Adds `generic` to a problem response (creating it), unless it already shows that type.
fn add_generic(responses: &mut utoipa::openapi::Responses, generic: &Generic, path: &str) {
    let problem = (generic.example)(path);
    let value = serde_json::to_value(&problem).unwrap_or_default();
    let entry = responses.responses.entry(generic.status.to_owned()).or_insert_with(|| {
        RefOr::T(
            ResponseBuilder::new()
                .content(PROBLEM_CONTENT_TYPE, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
                .build(),
        )
    });
    let RefOr::T(response) = entry else { return };
    let Some(RefOr::T(content)) = response.content.get_mut(PROBLEM_CONTENT_TYPE) else { return };
    if content.examples.contains_key(generic.name) {
        return;
    }
    response.description = if response.description.is_empty() {
        format!("{} (`type`: {})", generic.phrase, problem.type_uri)
    } else {
        let mut phrase = generic.phrase.chars();
        let lower: String = phrase.next().map(|c| c.to_ascii_lowercase()).into_iter().chain(phrase).collect();
        format!("{}; or {lower} (`type`: {})", response.description, problem.type_uri)
    };
    content.examples.insert(generic.name.to_owned(), RefOr::T(ExampleBuilder::new().summary(problem.title).value(Some(value)).build()));
}

/// A problem response the handler declared: its one example moves into `examples` under its
/// slug, and its description names the type URI.
fn name_declared_problem(response: &mut utoipa::openapi::Response) {
    let Some(RefOr::T(content)) = response.content.get_mut(PROBLEM_CONTENT_TYPE) else { return };
    let Some(value) = content.example.take() else { return };
    let Some(uri) = problem_type(&value).map(str::to_owned) else {
        content.example = Some(value);
        return;
    };
    let slug = uri.strip_prefix(domain::problem::TYPE_BASE).unwrap_or(&uri).to_owned();
    let title = value.get("title").and_then(|t| t.as_str()).unwrap_or_default().to_owned();
    content.examples.insert(slug, RefOr::T(ExampleBuilder::new().summary(title).value(Some(value)).build()));
    response.description = format!("{} (`type`: {uri})", response.description);
}

fn header(description: &str) -> HeaderBuilder {
    HeaderBuilder::new().description(Some(description))
}

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("pk_live_<id>.sk_live_<secret>").build()),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let api = path.starts_with("/api/v1/") && path != "/api/v1/openapi.json";
            let ping = path.starts_with("/ping/");
            let has_id = path.contains('{');
            for op in [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten() {
                // the public operations (pings, health, this document) say so: no API key
                op.security.get_or_insert_with(|| vec![SecurityRequirement::default()]);
                for response in op.responses.responses.values_mut() {
                    if let RefOr::T(response) = response {
                        name_declared_problem(response);
                    }
                }
                let idempotent = op.parameters.iter().flatten().any(|p| matches!(p, RefOr::T(p) if p.name.eq_ignore_ascii_case("idempotency-key")));
                let body = op.request_body.is_some();
                let r = &mut op.responses;
                let applies: [(bool, &Generic); 10] = [
                    (api || ping, &BAD_REQUEST),
                    (api, &UNAUTHORIZED),
                    (has_id, &NOT_FOUND),
                    (idempotent, &IN_PROGRESS),
                    (body || ping, &TOO_LARGE),
                    (body, &NOT_JSON),
                    (body, &INVALID),
                    (idempotent, &KEY_REUSED),
                    (api || ping, &RATE_LIMITED),
                    (api || ping, &INTERNAL),
                ];
                for (_, generic) in applies.iter().filter(|(yes, _)| *yes) {
                    add_generic(r, generic, path);
                }
                // exactly the headers api-fn sends with these statuses (problem.rs)
                for (status, response) in r.responses.iter_mut() {
                    let RefOr::T(response) = response else { continue };
                    match status.as_str() {
                        "429" => {
                            response.headers.entry("Retry-After".to_owned()).or_insert_with(|| {
                                RefOr::T(
                                    header("Seconds to wait before sending the request again.")
                                        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1))))
                                        .build(),
                                )
                            });
                        }
                        "401" if api => {
                            response.headers.entry("WWW-Authenticate".to_owned()).or_insert_with(|| {
                                RefOr::T(header("`Bearer realm=\"prikke\"`").schema(Some(ObjectBuilder::new().schema_type(Type::String))).build())
                            });
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// The document, built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(ApiDoc::openapi)
}

/// Get this OpenAPI document.
///
/// The OpenAPI 3.1 description of this API, generated from the code that serves it; generate
/// a client from it. No API key needed.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", operation_id = "getOpenApiDocument", responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object, example = json!(crate::v1::examples::document()))))]
pub async fn serve() -> Response {
    let mut res = Json(document()).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn doc() -> Value {
        serde_json::to_value(document()).unwrap()
    }

    /// Every operation: (method, path, operation).
    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut ops = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                ops.push((method.to_uppercase(), path.clone(), op.clone()));
            }
        }
        ops
    }

    fn is_camel_case(id: &str) -> bool {
        let mut chars = id.chars();
        chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_alphanumeric())
    }

    /// Client generators name their methods after the operation ids, so each is set by hand on
    /// its handler (`operation_id = "…"`), never derived: a handler renamed in Rust must not
    /// rename a method in every client. utoipa's default is the handler's name (`list`,
    /// `get`, …), which is not camelCase with a verb and a resource, so a missing id fails here.
    #[test]
    fn operation_ids_are_explicit_unique_and_camel_case() {
        let doc = doc();
        let ops = operations(&doc);
        let mut ids: Vec<String> = Vec::new();
        for (method, path, op) in &ops {
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(is_camel_case(id), "{method} {path}: {id:?} is not camelCase");
            assert!(id.chars().any(|c| c.is_ascii_uppercase()), "{method} {path}: {id:?} names no resource (utoipa's default, the handler's name?)");
            ids.push(id.to_owned());
        }
        let count = ids.len();
        for id in [
            "listJobs", "createJob", "getJob", "updateJob", "deleteJob", "enableJob", "disableJob", "triggerJob", "listJobExecutions", "listExecutions",
            "getExecution", "redeliverExecution", "redeliverFailedExecutions", "syncJobs", "enqueueCall", "previewSchedule", "listApiKeys", "rotateApiKey",
            "rotateSigningSecret", "pingMonitorSuccess", "pingMonitorSuccessGet", "pingExecutionComplete", "getHealth", "getOpenApiDocument",
        ] {
            assert!(ids.contains(&id.to_owned()), "{id} missing from {ids:?}");
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "operation ids repeat");
        assert!(!is_camel_case("jobs_list") && !is_camel_case("ListJobs") && is_camel_case("listJobs"));
    }

    #[test]
    fn every_api_operation_is_authenticated_and_documents_problems() {
        let doc = doc();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 15, "{}", paths.len());
        for (method, path, op) in operations(&doc) {
            if path.starts_with("/api/v1/") && path != "/api/v1/openapi.json" {
                assert!(op["security"].is_array(), "{method} {path} has no security");
                assert_eq!(op["responses"]["401"]["content"][PROBLEM_CONTENT_TYPE]["schema"]["$ref"], "#/components/schemas/Problem", "{method} {path}");
                assert!(op["responses"]["401"]["headers"]["WWW-Authenticate"].is_object(), "{method} {path}");
                assert!(op["responses"]["429"]["headers"]["Retry-After"].is_object(), "{method} {path}");
                assert!(op["responses"].get("503").is_none(), "{method} {path}: no API operation answers 503");
            }
            if path.contains('{') {
                assert!(op["responses"]["404"].is_object(), "{method} {path}");
            }
            if path.starts_with("/ping/") || path == "/health" || path == "/api/v1/openapi.json" {
                assert_eq!(op["security"], json!([{}]), "{method} {path} needs no API key, and says so");
            }
        }
        assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    }

    /// Summary and description on every operation: the doc comment's first paragraph and the rest.
    #[test]
    fn every_operation_has_a_summary_and_a_description() {
        for (method, path, op) in operations(&doc()) {
            let summary = op["summary"].as_str().unwrap_or_default();
            let description = op["description"].as_str().unwrap_or_default();
            assert!(!summary.is_empty() && !summary.contains('\n') && summary.len() <= 60, "{method} {path}: summary {summary:?} should be one short line");
            assert!(description.len() > summary.len(), "{method} {path}: description {description:?}");
            assert!(op["tags"].as_array().is_some_and(|t| t.len() == 1), "{method} {path}: one tag");
        }
    }

    /// Each problem response names the `type` URI of every problem it shows, with an example of
    /// each; a 429 says which header to read.
    #[test]
    fn problem_responses_name_their_types() {
        let doc = doc();
        let mut seen = std::collections::BTreeSet::new();
        for (method, path, op) in operations(&doc) {
            for (status, response) in op["responses"].as_object().unwrap() {
                let Some(content) = response["content"].get(PROBLEM_CONTENT_TYPE) else { continue };
                let description = response["description"].as_str().unwrap();
                let examples = content["examples"].as_object().unwrap_or_else(|| panic!("{method} {path} {status}: no examples"));
                assert!(!examples.is_empty() && content.get("example").is_none(), "{method} {path} {status}");
                for (name, example) in examples {
                    let value = &example["value"];
                    let uri = value["type"].as_str().unwrap_or_else(|| panic!("{method} {path} {status} {name}: no type"));
                    let slug = uri.strip_prefix(domain::problem::TYPE_BASE).unwrap_or_else(|| panic!("{uri} is not under {}", domain::problem::TYPE_BASE));
                    assert!(name == slug || name == "idempotency-in-progress", "{method} {path} {status}: example {name} shows {uri}");
                    assert_eq!(value["status"].to_string(), *status, "{method} {path} {status}");
                    assert!(description.contains(&uri), "{method} {path} {status}: {description:?} does not name {uri}");
                    seen.insert(slug.to_owned());
                }
                if status == "429" {
                    assert!(examples.contains_key("rate-limited"), "{method} {path}: every 429 may be the rate limit");
                }
                if status == "409" && op["parameters"].as_array().into_iter().flatten().any(|p| p["name"] == "Idempotency-Key") {
                    assert!(examples.contains_key("idempotency-in-progress") && description.contains("Idempotency-Key"), "{method} {path}: {description}");
                }
            }
        }
        for slug in ["bad-request", "unauthorized", "not-found", "conflict", "payload-too-large", "unsupported-media-type", "validation", "idempotency-key-reused", "rate-limited", "internal", "job-limit-reached", "quota-exceeded", "pending-limit", "channel-limit-reached", "key-limit-reached"] {
            assert!(seen.contains(slug), "no response shows {slug}");
        }
    }

    /// Generators name a class after each inline object variant of a `oneOf`; without a title
    /// it is `ScheduleInputType0`, numbered by position, which a reordering renames. (A newtype
    /// variant's title lands on its inner type in utoipa, so HeadersInput's map stays unnamed.)
    #[test]
    fn every_one_of_variant_has_a_title() {
        let doc = doc();
        let mut named = 0;
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            for variant in schema["oneOf"].as_array().into_iter().flatten() {
                if variant.get("properties").is_none() {
                    continue;
                }
                assert!(variant["title"].is_string(), "{name}: a oneOf variant has no title: {variant}");
                named += 1;
            }
        }
        assert!(named >= 15, "{named}");
    }

    /// The media types of every request body and response with a body, each with its schema.
    fn media(doc: &Value) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        for (method, path, op) in operations(doc) {
            for (media_type, content) in op["requestBody"]["content"].as_object().into_iter().flatten() {
                out.push((format!("{method} {path} request {media_type}"), content.clone()));
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                for (media_type, content) in response["content"].as_object().into_iter().flatten() {
                    out.push((format!("{method} {path} {status} {media_type}"), content.clone()));
                }
            }
        }
        out
    }

    /// A validator for `schema` whose `#/components/schemas/…` references resolve in `doc`.
    fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
        let root = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "allOf": [schema], "components": {"schemas": doc["components"]["schemas"]}});
        jsonschema::draft202012::options().should_validate_formats(true).build(&root).unwrap_or_else(|e| panic!("{schema}: {e}"))
    }

    fn errors(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
        validator.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect()
    }

    /// Every request and response body shows an example, and every example (the media type's
    /// `example` and each of its `examples`) is valid against the schema it illustrates.
    #[test]
    fn every_example_is_valid_against_its_schema() {
        let doc = doc();
        let mut checked = 0;
        let mut failures = Vec::new();
        for (place, content) in media(&doc) {
            let mut values: Vec<(String, Value)> = content["examples"].as_object().into_iter().flatten().map(|(name, e)| (name.clone(), e["value"].clone())).collect();
            if let Some(example) = content.get("example") {
                values.push(("example".into(), example.clone()));
            }
            assert!(!values.is_empty(), "{place} has no example");
            let validator = validator(&doc, &content["schema"]);
            for (name, value) in values {
                assert!(!value.is_null(), "{place} {name}: the example could not be made");
                for e in errors(&validator, &value) {
                    failures.push(format!("{place} {name}: {e}"));
                }
                checked += 1;
            }
        }
        assert!(failures.is_empty(), "invalid examples:\n{}", failures.join("\n"));
        assert!(checked >= 2 * operations(&doc).len(), "only {checked} examples");
    }

    /// The check above can fail: references resolve, formats, enums and required fields count.
    #[test]
    fn the_example_check_catches_wrong_examples() {
        let doc = doc();
        let job = json!({"$ref": "#/components/schemas/JobView"});
        let v = validator(&doc, &job);
        assert!(errors(&v, &examples::job()).is_empty());
        for (field, wrong) in [("enabled", json!("yes")), ("created_at", json!("yesterday")), ("method", json!("FETCH")), ("id", json!("42"))] {
            let mut bad = examples::job();
            bad[field] = wrong;
            assert!(!errors(&v, &bad).is_empty(), "{field} accepted");
        }
        let mut bad = examples::job();
        bad["schedule"]["kind"] = json!("weekly");
        assert!(!errors(&v, &bad).is_empty(), "a schedule kind through a nested $ref");
        let mut bad = examples::job();
        bad.as_object_mut().unwrap().remove("name");
        assert!(!errors(&v, &bad).is_empty(), "a missing required field");
    }

    /// The request examples are not only well-formed but accepted by the rules a request meets.
    #[test]
    fn request_examples_pass_the_job_rules() {
        let now = "2026-11-20T09:30:00Z".parse().unwrap();
        let draft: domain::job::JobDraft = serde_json::from_value(examples::job_input()).unwrap();
        domain::job::validate(&draft, domain::tier::Tier::Free, now).unwrap();
        for job in examples::sync_request()["jobs"].as_array().unwrap() {
            let draft: domain::job::JobDraft = serde_json::from_value(job.clone()).unwrap();
            domain::job::validate(&draft, domain::tier::Tier::Free, now).unwrap();
        }
        assert_eq!(examples::validation().status, 422);
        assert!(examples::validation().errors.len() >= 3, "{:?}", examples::validation().errors);
    }
}
