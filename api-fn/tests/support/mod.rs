//! Drives the real router in process against a real (per-test) Postgres database.
#![allow(dead_code)]

use api_fn::provision::{NewOrganization, Provisioned, create_organization};
use api_fn::{AppState, Config, router};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use domain::tier::Tier;
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt;

/// Test configuration: rate limits off unless a test sets them.
pub fn config(extra: &[(&str, &str)]) -> Config {
    let mut vars: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", "postgres://unused@127.0.0.1/unused"),
        ("PRIKKE_ENV", "test"),
        ("PRIKKE_API_RATE_PER_MINUTE", "0"),
        ("PRIKKE_PING_RATE_PER_MINUTE", "0"),
        ("PRIKKE_PUBLIC_URL", "https://prikke.test"),
    ];
    vars.extend_from_slice(extra);
    Config::from_lookup(|k| vars.iter().rev().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap()
}

#[derive(Clone)]
pub struct Api {
    pub pool: PgPool,
    pub state: AppState,
    router: Router,
}

/// One response, its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Reply {
    /// The problem `type` slug, for error responses.
    pub fn problem(&self) -> &str {
        assert_eq!(self.headers["content-type"], "application/problem+json", "{self:?}");
        self.json["type"].as_str().and_then(|t| t.strip_prefix("https://prikke.eu/problems/")).unwrap_or("")
    }

    /// The `(field, code)` pairs of a validation problem.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        self.json["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| (e["field"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned())).collect())
            .unwrap_or_default()
    }

    pub fn id(&self) -> String {
        self.json["id"].as_str().unwrap_or_else(|| panic!("no id in {self:?}")).to_owned()
    }
}

impl Api {
    pub fn new(pool: PgPool) -> Self {
        Self::with(pool, &[])
    }

    pub fn with(pool: PgPool, extra: &[(&str, &str)]) -> Self {
        let state = AppState::new(pool.clone(), config(extra));
        Api { pool, state: state.clone(), router: router(state) }
    }

    pub async fn org(&self, slug: &str, tier: Tier) -> Provisioned {
        create_organization(&self.pool, &self.state.keyring, &NewOrganization { name: slug, slug, tier, key_name: "test" }).await.unwrap()
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 16 << 20).await.unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, json, text }
    }

    /// A JSON request with an API key.
    pub async fn call(&self, method: Method, path: &str, key: &str, body: Option<Value>) -> Reply {
        self.call_with(method, path, key, body, &[]).await
    }

    pub async fn call_with(&self, method: Method, path: &str, key: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Reply {
        let mut req = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {key}"));
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        let req = match body {
            Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())).unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        self.send(req).await
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.call(Method::GET, path, key, None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.call(Method::POST, path, key, Some(body)).await
    }

    /// Creates a job and returns its id (asserting 201).
    pub async fn job(&self, key: &str, body: Value) -> String {
        let r = self.post("/api/v1/jobs", key, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        r.id()
    }
}

/// A valid hourly job.
pub fn hourly(name: &str) -> Value {
    serde_json::json!({"name": name, "url": "https://example.com/hook", "schedule": {"kind": "cron", "expr": "0 * * * *"}})
}

/// Sets an execution's status as the dispatcher would when it finishes.
pub async fn finish(pool: &PgPool, id: &str, status: &str) {
    sqlx::query("UPDATE executions SET status = $2, attempt = 1, started_at = now(), finished_at = now(), response_status = 500, error = 'boom' WHERE id = $1::uuid")
        .bind(id)
        .bind(status)
        .execute(pool)
        .await
        .unwrap();
}
