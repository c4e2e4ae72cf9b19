//! The origin answers only what came through the edge: with `PRIKKE_EDGE_SECRET` set, a request
//! without the edge's proof (or with a wrong one) is refused before any route runs and changes
//! nothing; `X-Forwarded-For` is believed only on a proven request.

mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use support::{Api, hourly};

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn api(pool: &PgPool) -> Api {
    Api::with(pool.clone(), &[("PRIKKE_EDGE_SECRET", SECRET), ("PRIKKE_TRUST_FORWARDED_FOR", "true")])
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn requests_that_skip_the_edge_are_refused_and_change_nothing(pool: PgPool) {
    let api = api(&pool);
    let org = api.org("acme", Tier::Free).await;
    let proof = [("x-prikke-edge", SECRET)];
    let wrong = [("x-prikke-edge", "0123456789abcdef0123456789abcdeX")];
    for headers in [&[][..], &wrong[..], &[("x-prikke-edge", "")][..]] {
        let r = api.call_with(Method::POST, "/api/v1/jobs", &org.api_key, Some(hourly("sneaky")), headers).await;
        assert_eq!((r.status, r.problem()), (StatusCode::FORBIDDEN, "not-through-edge"), "{headers:?}: {r:?}");
        assert!(r.json["detail"].as_str().unwrap().contains("https://prikke.test"), "{r:?}");
        let r = api.send(Request::post("/waitlist").header("content-type", "application/json").body(Body::from(json!({"email": "eve@example.com"}).to_string())).unwrap()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "the waitlist too");
        let r = api.send(Request::get("/app/login").body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "the web app too");
    }
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM waitlist").fetch_one(&pool).await.unwrap();
    assert_eq!((jobs, waiting), (0, 0), "nothing written");

    let r = api.send(Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK, "health checks do not come through the edge");
    let r = api.call_with(Method::POST, "/api/v1/jobs", &org.api_key, Some(hourly("through the edge")), &proof).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_client_address_comes_from_the_edge_only_with_its_proof(pool: PgPool) {
    let api = api(&pool);
    let org = api.org("acme", Tier::Free).await;
    let r = api.call_with(Method::POST, "/api/v1/monitors", &org.api_key, Some(json!({"name": "backup", "schedule": {"kind": "interval", "interval_secs": 3600}, "grace_secs": 60})), &[("x-prikke-edge", SECRET)]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let path = r.json["ping_url"].as_str().unwrap().replace("https://prikke.test", "");
    let ping = |proof: Option<&str>| {
        let mut req = Request::get(path.as_str()).header("x-forwarded-for", "198.51.100.7");
        if let Some(p) = proof {
            req = req.header("x-prikke-edge", p);
        }
        req.body(Body::empty()).unwrap()
    };
    assert_eq!(api.send(ping(None)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(api.send(ping(Some(SECRET))).await.status, StatusCode::OK);
    let ips: Vec<Option<String>> = sqlx::query_scalar("SELECT source_ip FROM pings").fetch_all(&pool).await.unwrap();
    assert_eq!(ips, vec![Some("198.51.100.7".to_owned())], "one ping, from the address the edge saw");
}

/// Guessing keys costs the database nothing after a few tries: a client that presented the
/// limit of unknown keys in a minute gets 429 before any lookup, even with a real key, until the
/// minute is over; other clients are not affected.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_client_guessing_api_keys_is_refused_before_any_lookup(pool: PgPool) {
    let api = Api::with(pool.clone(), &[("PRIKKE_TRUST_FORWARDED_FOR", "true"), ("PRIKKE_AUTH_FAILURE_RATE_PER_MINUTE", "3")]);
    let org = api.org("acme", Tier::Free).await;
    let guesser = [("x-forwarded-for", "198.51.100.7")];
    let guess = |i: u8| format!("pk_live_{}.sk_live_{}", hex(&[i; 12]), hex(&[i; 32]));
    for i in 0..3 {
        let r = api.call_with(Method::GET, "/api/v1/jobs", &guess(i), None, &guesser).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "guess {i}: {r:?}");
    }
    let r = api.call_with(Method::GET, "/api/v1/jobs", &guess(9), None, &guesser).await;
    assert_eq!((r.status, r.problem()), (StatusCode::TOO_MANY_REQUESTS, "rate-limited"), "{r:?}");
    assert!(r.headers.contains_key("retry-after"));
    let r = api.call_with(Method::GET, "/api/v1/jobs", &org.api_key, None, &guesser).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the guesser's address waits out the minute, whatever key it sends");
    let r = api.call_with(Method::GET, "/api/v1/jobs", &org.api_key, None, &[("x-forwarded-for", "198.51.100.8")]).await;
    assert_eq!(r.status, StatusCode::OK, "another client is not affected");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The origin limits waitlist sign-ups per client as the edge does.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_origin_limits_waitlist_sign_ups_per_client(pool: PgPool) {
    let api = Api::with(pool.clone(), &[("PRIKKE_TRUST_FORWARDED_FOR", "true"), ("PRIKKE_WAITLIST_RATE_PER_MINUTE", "2")]);
    let join = |email: String, ip: &'static str| {
        Request::post("/waitlist").header("content-type", "application/json").header("x-forwarded-for", ip).body(Body::from(json!({"email": email}).to_string())).unwrap()
    };
    for i in 0..2 {
        assert_eq!(api.send(join(format!("a{i}@example.com"), "198.51.100.7")).await.status, StatusCode::CREATED);
    }
    let r = api.send(join("a2@example.com".into(), "198.51.100.7")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{r:?}");
    assert_eq!(api.send(join("b@example.com".into(), "198.51.100.8")).await.status, StatusCode::CREATED, "another client");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM waitlist").fetch_one(&pool).await.unwrap();
    assert_eq!(rows, 3, "the refused sign-up wrote nothing");
}
