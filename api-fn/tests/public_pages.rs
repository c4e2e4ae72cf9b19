//! The public, unauthenticated endpoints that predate v1: /health (also when Postgres is down),
//! /status.json and /waitlist.

mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use support::Api;

fn post_json(path: &str, body: serde_json::Value) -> Request<Body> {
    Request::builder().method(Method::POST).uri(path).header("content-type", "application/json").body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn health_is_503_when_postgres_is_down() {
    let dead = store::connect(
        "postgres://postgres@127.0.0.1:1/none",
        &store::PoolSettings { acquire_timeout: std::time::Duration::from_millis(300), ..Default::default() },
    )
    .unwrap();
    let api = Api::new(dead);
    let r = api.send(Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!((r.status, r.json["up"].as_bool(), r.json["deps"]["postgres"].as_bool()), (StatusCode::SERVICE_UNAVAILABLE, Some(false), Some(false)));
    // an authenticated request fails with a generic 500, no database details
    let key = format!("pk_live_{}.sk_live_{}", "a".repeat(24), "b".repeat(64));
    let r = api.get("/api/v1/jobs", &key).await;
    assert_eq!((r.status, r.problem()), (StatusCode::INTERNAL_SERVER_ERROR, "internal"));
    assert!(!r.text.contains("127.0.0.1") && !r.text.to_lowercase().contains("connect"), "{}", r.text);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn waitlist_adds_once_and_validates(pool: PgPool) {
    let api = Api::new(pool.clone());
    let r = api.send(post_json("/waitlist", json!({"email": "Ada@Example.com", "source": "å".repeat(100)}))).await;
    assert_eq!((r.status, r.json["status"].as_str()), (StatusCode::CREATED, Some("added")));
    let source: String = sqlx::query_scalar("SELECT source FROM waitlist").fetch_one(&pool).await.unwrap();
    assert_eq!(source.chars().count(), 64, "cut on characters, not bytes");
    let r = api.send(post_json("/waitlist", json!({"email": "ada@example.com"}))).await;
    assert_eq!((r.status, r.json["status"].as_str()), (StatusCode::OK, Some("already_listed")));
    let r = api.send(post_json("/waitlist", json!({"email": "not an address"}))).await;
    assert_eq!((r.status, r.problem()), (StatusCode::UNPROCESSABLE_ENTITY, "validation"));
    // the same rules and words as the edge's waitlist form (domain::email)
    assert_eq!(r.json["errors"][0]["field"], "email", "{r:?}");
    assert_eq!(r.json["errors"][0]["message"], "An email address cannot contain spaces.", "{r:?}");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn status_json_is_public_and_cacheable(pool: PgPool) {
    let api = Api::new(pool);
    let r = api.send(Request::get("/status.json").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.json["api"]["up"], true);
    assert!(r.headers["cache-control"].to_str().unwrap().contains("max-age"));
}
