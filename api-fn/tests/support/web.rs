//! A cookie-keeping client for the web app's pages, driving the real router in process: it
//! reads each page's form token and posts forms as a browser would (urlencoded).
#![allow(dead_code)]

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use tower::ServiceExt;

/// One page or redirect.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    /// Where a redirect goes.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The form token in the page.
    pub fn csrf(&self) -> String {
        let at = self.html.find(r#"name="csrf" value=""#).unwrap_or_else(|| panic!("no form token in:\n{}", self.html));
        let rest = &self.html[at + r#"name="csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    /// The `Set-Cookie` header that sets `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    pub fn contains(&self, text: &str) -> bool {
        self.html.contains(text)
    }
}

/// A browser's worth of cookies.
#[derive(Clone)]
pub struct Web {
    pub router: Router,
    pub cookies: BTreeMap<String, String>,
    pub user_agent: String,
    /// Sent with every request (e.g. the edge's proof, for a production configuration).
    pub headers: Vec<(&'static str, String)>,
}

impl Web {
    pub fn new(router: Router) -> Web {
        Web { router, cookies: BTreeMap::new(), user_agent: "test-browser/1".into(), headers: Vec::new() }
    }

    async fn send(&mut self, method: Method, path: &str, body: Option<String>) -> Page {
        let mut req = Request::builder().method(method).uri(path).header(header::USER_AGENT, &self.user_agent);
        for (name, value) in &self.headers {
            req = req.header(*name, value);
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header(header::COOKIE, jar.join("; "));
        }
        let req = match body {
            Some(b) => req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(b)).unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        for set in headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let expired = set.contains("Max-Age=0");
            if expired || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let bytes = axum::body::to_bytes(res.into_body(), 4 << 20).await.unwrap();
        Page { status, headers, html: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    /// Posts `fields` (urlencoded) as they are, form token included or not.
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        self.send(Method::POST, path, Some(body.join("&"))).await
    }

    /// Opens `form_page`, then posts `fields` to `action` with the page's form token.
    pub async fn submit(&mut self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(form_page).await.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(action, &all).await
    }

    /// Follows a redirect (GET).
    pub async fn follow(&mut self, page: &Page) -> Page {
        let to = page.location().unwrap_or_else(|| panic!("not a redirect: {} {}", page.status, page.html)).to_owned();
        self.get(&to).await
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The link of the newest outbox e-mail to `to` whose path starts with `path` (`/app/confirm/`…).
pub async fn link_in_mail(pool: &sqlx::PgPool, to: &str, path: &str) -> String {
    let text: String = sqlx::query_scalar("SELECT body_text FROM outgoing_mail WHERE lower(to_address) = lower($1) ORDER BY created_at DESC LIMIT 1")
        .bind(to)
        .fetch_one(pool)
        .await
        .unwrap();
    let at = text.find(path).unwrap_or_else(|| panic!("no {path} link in:\n{text}"));
    let end = text[at..].find(char::is_whitespace).map_or(text.len(), |e| at + e);
    text[at..end].to_owned()
}

/// The password every test account signs up with.
pub const PASSWORD: &str = "correct horse battery";

/// Signs up `email` in `w`, confirms it from the mail (which signs in), and creates the
/// organization `org` when given; returns its id.
pub async fn sign_up(pool: &sqlx::PgPool, w: &mut Web, email: &str, org: Option<&str>) -> Option<uuid::Uuid> {
    let done = w.submit("/app/signup", "/app/signup", &[("email", email), ("password", PASSWORD)]).await;
    assert!(done.contains("Check your e-mail"), "{}", done.html);
    let link = link_in_mail(pool, email, "/app/confirm/").await;
    let signed_in = w.submit(&link, &link, &[]).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.html);
    let name = org?;
    let home = w.follow(&signed_in).await;
    let welcome = w.follow(&home).await;
    assert!(welcome.contains("Create your organization"), "{}", welcome.html);
    let made = w.submit("/app/welcome", "/app/orgs", &[("name", name)]).await;
    assert_eq!(made.location(), Some("/app"));
    Some(sqlx::query_scalar("SELECT id FROM organizations WHERE name = $1").bind(name).fetch_one(pool).await.unwrap())
}
