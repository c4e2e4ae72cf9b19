//! Authentication, key revocation, last-used tracking and rate limiting (per key, per ping IP).

mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use domain::tier::Tier;
use sqlx::PgPool;
use support::Api;

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn requests_without_a_valid_key_are_refused_alike(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let r = api.send(Request::get("/api/v1/jobs").body(Body::empty()).unwrap()).await;
    assert_eq!((r.status, r.problem()), (StatusCode::UNAUTHORIZED, "unauthorized"));
    assert!(r.headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    let basic = api.send(Request::get("/api/v1/jobs").header("authorization", "Basic dTpw").body(Body::empty()).unwrap()).await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
    for bad in ["pk_live_nope", "sk_live_x.pk_live_y", &org.api_key.replace("pk_live_", "pk_test_")] {
        let r = api.get("/api/v1/jobs", bad).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert!(r.json["detail"].as_str().unwrap().contains("malformed"), "{r:?}");
    }
    // right id, wrong secret; unknown id: the same answer
    let (id, secret) = org.api_key.split_once(".sk_live_").unwrap();
    let flipped = format!("{id}.sk_live_{}", secret.chars().rev().collect::<String>());
    let unknown = format!("pk_live_{}.sk_live_{secret}", "0".repeat(24));
    let a = api.get("/api/v1/jobs", &flipped).await;
    let b = api.get("/api/v1/jobs", &unknown).await;
    assert_eq!((a.status, b.status), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(a.json, b.json);
    assert_eq!(api.get("/api/v1/jobs", &org.api_key).await.status, StatusCode::OK);

    store::api_keys::revoke(&pool, org.org_id, org.api_key_id, chrono::Utc::now()).await.unwrap();
    let r = api.get("/api/v1/jobs", &org.api_key).await;
    assert_eq!((r.status, r.json["detail"].as_str()), (StatusCode::UNAUTHORIZED, Some("unknown or revoked API key")));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn last_used_is_recorded_without_a_write_per_request(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let last_used = || sqlx::query_scalar::<_, Option<chrono::DateTime<chrono::Utc>>>("SELECT last_used_at FROM api_keys").fetch_one(&pool);
    assert_eq!(last_used().await.unwrap(), None);
    api.get("/api/v1/jobs", &org.api_key).await;
    let first = last_used().await.unwrap().expect("recorded");
    for _ in 0..5 {
        api.get("/api/v1/jobs", &org.api_key).await;
    }
    assert_eq!(last_used().await.unwrap(), Some(first), "not rewritten within the minute");
    sqlx::query("UPDATE api_keys SET last_used_at = now() - interval '2 minutes'").execute(&pool).await.unwrap();
    api.get("/api/v1/jobs", &org.api_key).await;
    assert!(last_used().await.unwrap().unwrap() > first);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn each_key_has_its_own_budget_and_gets_retry_after(pool: PgPool) {
    let api = Api::with(pool.clone(), &[("PRIKKE_API_RATE_PER_MINUTE", "3")]);
    let a = api.org("a", Tier::Pro).await;
    let b = api.org("b", Tier::Pro).await;
    for _ in 0..3 {
        assert_eq!(api.get("/api/v1/usage", &a.api_key).await.status, StatusCode::OK);
    }
    let r = api.get("/api/v1/usage", &a.api_key).await;
    assert_eq!((r.status, r.problem()), (StatusCode::TOO_MANY_REQUESTS, "rate-limited"));
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=120).contains(&retry), "{retry}");
    assert_eq!(api.get("/api/v1/usage", &b.api_key).await.status, StatusCode::OK, "another key is unaffected");
    // bad secrets do not spend the key's budget
    let (id, _) = b.api_key.split_once(".sk_live_").unwrap();
    for _ in 0..10 {
        api.get("/api/v1/usage", &format!("{id}.sk_live_{}", "0".repeat(64))).await;
    }
    assert_eq!(api.get("/api/v1/usage", &b.api_key).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn pings_are_limited_per_client_ip(pool: PgPool) {
    let api = Api::with(pool.clone(), &[("PRIKKE_PING_RATE_PER_MINUTE", "2"), ("PRIKKE_TRUST_FORWARDED_FOR", "true")]);
    let ping = |ip: &'static str| Request::builder().method(Method::POST).uri("/ping/0123456789abcdef0123456789abcdef").header("x-forwarded-for", ip).body(Body::empty()).unwrap();
    assert_eq!(api.send(ping("203.0.113.1")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.send(ping("203.0.113.1")).await.status, StatusCode::NOT_FOUND);
    let r = api.send(ping("203.0.113.1")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(api.send(ping("203.0.113.2")).await.status, StatusCode::NOT_FOUND, "another address has its own budget");
}
