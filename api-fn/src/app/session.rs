//! Who is asking: the session cookie (`prikke_session`: a random token whose SHA-256 names a
//! `sessions` row; `HttpOnly`, `SameSite=Lax`, `Path=/app`, `Secure` in production), the
//! signed-in user and the organization they work in, and the token every form carries against
//! cross-site requests: the session's own secret, or before sign-in a random one also set as a
//! cookie (`prikke_csrf`) that the form must repeat.

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, SET_COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use domain::account::{Role, SESSION_IDLE_LIFETIME, new_token, token_hash};
use store::organizations::Organization;
use store::sessions::Session;
use store::users::User;
use subtle::ConstantTimeEq;

use super::AppError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "prikke_session";
pub const CSRF_COOKIE: &str = "prikke_csrf";

/// The value of cookie `name` in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A signed-in user and their session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    pub user: User,
}

/// Anyone asking for a page of the app.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub signed_in: Option<SignedIn>,
    /// The token forms must carry.
    pub csrf: String,
    /// A pre-sign-in token made for this request, to be set as a cookie with the page.
    pub new_csrf_cookie: Option<String>,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// `Secure` cookies (production).
    pub secure_cookies: bool,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let now = Utc::now();
        let mut signed_in = None;
        if let Some(token) = cookie(&parts.headers, SESSION_COOKIE)
            && let Some((session, user)) = store::sessions::find_with_user(&state.pool, &token_hash(&token), now).await?
        {
            if now - session.last_seen_at >= chrono::Duration::seconds(60) {
                store::sessions::touch(&state.pool, session.id, now, SESSION_IDLE_LIFETIME).await?;
            }
            signed_in = Some(SignedIn { session, user });
        }
        let (csrf, new_csrf_cookie) = match (&signed_in, cookie(&parts.headers, CSRF_COOKIE)) {
            (Some(s), _) => (hex(&s.session.csrf_secret), None),
            (None, Some(c)) if c.len() == 64 => (c, None),
            (None, _) => {
                let c = new_token(rand::random());
                (c.clone(), Some(c))
            }
        };
        Ok(Visitor {
            signed_in,
            csrf,
            new_csrf_cookie,
            ip: crate::pings::client_ip(parts, state.config.trust_forwarded_for),
            user_agent: parts.headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
            secure_cookies: state.config.env.is_production(),
        })
    }
}

impl Visitor {
    /// Refuses a form whose token is not this visitor's.
    pub fn check_csrf(&self, given: &str) -> Result<(), AppError> {
        // a token made for this very request matches no form the visitor was shown
        if self.new_csrf_cookie.is_none() && given.len() == self.csrf.len() && bool::from(given.as_bytes().ct_eq(self.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(AppError::Forbidden("This form has expired or did not come from Prikke. Go back, reload the page and try again.".into()))
        }
    }

    /// The `Set-Cookie` value of a cookie for `/app` (`max_age` in seconds; 0 deletes it).
    pub fn cookie_header(&self, name: &str, value: &str, max_age: i64) -> HeaderValue {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        HeaderValue::from_str(&format!("{name}={value}; Path=/app; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")).expect("cookie values are hex")
    }

    /// Adds the pre-sign-in form token cookie to a page response when one was made.
    pub fn finish(&self, mut res: Response) -> Response {
        if let Some(token) = &self.new_csrf_cookie {
            res.headers_mut().append(SET_COOKIE, self.cookie_header(CSRF_COOKIE, token, 86_400));
        }
        res
    }

    /// A hash naming this browser (its user agent) for the "new client" audit entry.
    pub fn client_hash(&self) -> [u8; 32] {
        token_hash(self.user_agent.as_deref().unwrap_or("unknown client"))
    }
}

/// The pages of an organization scheduled for deletion that still open (`/app/settings` and
/// below, the export, switching organization, the account).
const WHILE_DELETING: [&str; 4] = ["/app/settings", "/app/export", "/app/orgs/", "/app/account/"];

/// A signed-in member working in an organization: what every page past sign-in needs.
#[derive(Debug, Clone)]
pub struct Member {
    pub visitor: Visitor,
    pub user: User,
    pub session: Session,
    pub org: Organization,
    pub role: Role,
    /// Every organization the user belongs to (for the switcher).
    pub orgs: Vec<(Organization, Role)>,
}

impl Member {
    /// Refuses someone who may not administer the organization.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.role.can_administer() { Ok(()) } else { Err(AppError::Forbidden("Only the organization's admins and owners may do this.".into())) }
    }
}

impl FromRequestParts<AppState> for Member {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let visitor = Visitor::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let Some(SignedIn { session, user }) = visitor.signed_in.clone() else {
            let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/app");
            let target = format!("/app/login?next={}", super::url_escape(next));
            return Err(Redirect::to(&target).into_response());
        };
        let orgs = store::organizations::for_user(&state.pool, user.id).await.map_err(|e| AppError::from(e).into_response())?;
        let orgs: Vec<(Organization, Role)> = orgs.into_iter().filter_map(|(o, r)| r.parse().ok().map(|r| (o, r))).collect();
        let current = session.current_org_id.and_then(|id| orgs.iter().find(|(o, _)| o.id == id)).or(orgs.first()).cloned();
        let Some((org, role)) = current else {
            // signed in, in no organization: the start page offers to make one
            return Err(Redirect::to("/app/welcome").into_response());
        };
        // An organization being deleted shows only its settings (where an owner restores it),
        // the export, and the ways out: switching organization, the account.
        if org.purge_after.is_some() && !WHILE_DELETING.iter().any(|p| parts.uri.path().starts_with(p)) {
            return Err(Redirect::to("/app/settings#delete").into_response());
        }
        Ok(Member { visitor, user, session, org, role, orgs })
    }
}
