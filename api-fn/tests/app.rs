//! The web app's accounts, through the real router with a cookie-keeping client: sign-up and
//! confirmation, sign-in, links, sign-out, organizations, members and invitations, API keys;
//! and what a demanding attacker tries: forms without their token, another organization's ids,
//! a member reaching for admin pages, reused and expired links, guessing passwords, cookies'
//! flags. E-mails are read from the outbox the dispatcher sends from (the browser test reads
//! them from a real SMTP server).

mod support;
#[path = "support/web.rs"]
mod web;

use api_fn::{AppState, router};
use axum::http::StatusCode;
use domain::tier::Tier;
use sqlx::PgPool;
use web::{PASSWORD, Web, link_in_mail};

fn web(pool: &PgPool, extra: &[(&str, &str)]) -> Web {
    Web::new(router(AppState::new(pool.clone(), support::config(extra))))
}

/// Signs up `email`, confirms it from the mail, and creates organization `org` (when given).
async fn member(pool: &PgPool, w: &mut Web, email: &str, org: Option<&str>) {
    web::sign_up(pool, w, email, org).await;
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn sign_up_confirm_and_sign_in_out_with_safe_cookies(pool: PgPool) {
    let mut w = web(&pool, &[]);
    let home = w.get("/app").await;
    assert_eq!((home.status, home.location()), (StatusCode::SEE_OTHER, Some("/app/login?next=/app")), "signed out: to the sign-in page");
    // a bad address and a short password are explained, nothing is made
    let bad = w.submit("/app/signup", "/app/signup", &[("email", "not-an-address"), ("password", PASSWORD)]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let short = w.submit("/app/signup", "/app/signup", &[("email", "ada@example.com"), ("password", "short")]).await;
    assert!(short.contains("at least 10 characters"), "{}", short.html);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&pool).await.unwrap();
    assert_eq!(users, 0);

    let done = w.submit("/app/signup", "/app/signup", &[("email", "Ada@Example.com"), ("password", PASSWORD)]).await;
    assert!(done.contains("Check your e-mail"));
    // not confirmed yet: signing in sends a new link instead
    let early = w.submit("/app/login", "/app/login", &[("email", "ada@example.com"), ("password", PASSWORD)]).await;
    assert!(early.contains("Check your e-mail") && early.set_cookie("prikke_session").is_none(), "{}", early.html);
    let link = link_in_mail(&pool, "ada@example.com", "/app/confirm/").await;
    let page = w.get(&link).await;
    assert!(page.contains("Confirm and sign in"), "a button, not a GET that acts: {}", page.html);
    let signed_in = w.submit(&link, &link, &[]).await;
    let cookie = signed_in.set_cookie("prikke_session").expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/app"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http outside production: {cookie}");
    let welcome = w.get("/app").await;
    assert_eq!(welcome.location(), Some("/app/welcome"), "no organization yet");
    // the link worked once: its page says so, and posting to it anyway does nothing
    assert_eq!(w.get(&link).await.status, StatusCode::GONE);
    let csrf = w.get("/app/welcome").await.csrf();
    assert_eq!(w.post_raw(&link, &[("csrf", &csrf)]).await.status, StatusCode::GONE);

    let first = w.cookies["prikke_session"].clone();
    let out = w.submit("/app/welcome", "/app/logout", &[]).await;
    assert_eq!(out.location(), Some("/app/login?done=signed_out"));
    assert!(!w.cookies.contains_key("prikke_session"));
    // the old cookie no longer works: the session is gone from the server, not only the browser
    let mut stale = web(&pool, &[]);
    stale.cookies.insert("prikke_session".into(), first);
    assert_eq!(stale.get("/app/welcome").await.location(), Some("/app/login"));

    // a wrong password and an unknown address get the same answer
    let wrong = w.submit("/app/login", "/app/login", &[("email", "ada@example.com"), ("password", "not the password")]).await;
    let unknown = w.submit("/app/login", "/app/login", &[("email", "nobody@example.com"), ("password", "not the password")]).await;
    assert_eq!((wrong.status, unknown.status), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert!(wrong.contains("Wrong e-mail address or password.") && unknown.contains("Wrong e-mail address or password."));
    let again = w.submit("/app/login", "/app/login", &[("email", "ada@example.com"), ("password", PASSWORD), ("next", "https://evil.example/")]).await;
    assert_eq!(again.location(), Some("/app"), "no open redirect");
    assert_ne!(w.cookies["prikke_session"], "", "a new session");

    // signing up again with a registered address says the same and mails its owner a sign-in link
    let mut other = web(&pool, &[]);
    let repeat = other.submit("/app/signup", "/app/signup", &[("email", "ada@example.com"), ("password", "another password!")]).await;
    assert!(repeat.contains("Check your e-mail"));
    let subject: String = sqlx::query_scalar("SELECT subject FROM outgoing_mail WHERE to_address = 'ada@example.com' ORDER BY created_at DESC LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(subject, "[Prikke] You already have an account");
    assert!(link_in_mail(&pool, "ada@example.com", "/app/magic/").await.len() > "/app/magic/".len());
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&pool).await.unwrap();
    assert_eq!(users, 1, "no second account");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn production_cookies_are_secure(pool: PgPool) {
    let mut w = web(&pool, &[("PRIKKE_ENV", "production"), ("PRIKKE_PUBLIC_URL", "https://prikke.test"), ("PRIKKE_EDGE_SECRET", "0123456789abcdef0123456789abcdef"), ("PRIKKE_ENCRYPTION_KEYS", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]);
    w.headers.push(("x-prikke-edge", "0123456789abcdef0123456789abcdef".into()));
    let signup = w.get("/app/signup").await;
    assert!(signup.set_cookie("prikke_csrf").unwrap().contains("; Secure"));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn forms_without_their_token_change_nothing(pool: PgPool) {
    let mut w = web(&pool, &[]);
    member(&pool, &mut w, "ada@example.com", Some("Acme")).await;
    for (path, fields) in [
        ("/app/keys", vec![("name", "CI")]),
        ("/app/settings", vec![("name", "Hijacked")]),
        ("/app/members/invite", vec![("email", "eve@example.com"), ("role", "admin")]),
        ("/app/logout", vec![]),
    ] {
        let missing = w.post_raw(path, &fields).await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{path} without a token");
        let mut forged = vec![("csrf", "0000000000000000000000000000000000000000000000000000000000000000")];
        forged.extend(fields.iter().copied());
        assert_eq!(w.post_raw(path, &forged).await.status, StatusCode::FORBIDDEN, "{path} with a forged token");
    }
    let changed: (i64, i64, String) = sqlx::query_as("SELECT (SELECT count(*) FROM api_keys), (SELECT count(*) FROM invites), (SELECT name FROM organizations)")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(changed, (0, 0, "Acme".to_owned()));
    assert_eq!(w.get("/app").await.status, StatusCode::OK, "still signed in");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn links_work_once_and_expire(pool: PgPool) {
    let mut w = web(&pool, &[]);
    member(&pool, &mut w, "ada@example.com", Some("Acme")).await;
    let mut guest = web(&pool, &[]);
    let sent = guest.submit("/app/magic", "/app/magic", &[("email", "ada@example.com")]).await;
    assert!(sent.contains("If <strong>ada@example.com</strong> has an account"), "{}", sent.html);
    let unknown = guest.submit("/app/magic", "/app/magic", &[("email", "nobody@example.com")]).await;
    assert_eq!(unknown.html.replace("nobody@example.com", "X"), sent.html.replace("ada@example.com", "X"), "the same answer either way");
    let magic = link_in_mail(&pool, "ada@example.com", "/app/magic/").await;
    let signed_in = guest.submit(&magic, &magic, &[]).await;
    assert_eq!(signed_in.location(), Some("/app"));
    assert_eq!(guest.get("/app").await.status, StatusCode::OK);
    assert_eq!(web(&pool, &[]).get(&magic).await.status, StatusCode::GONE, "used");
    // an expired one
    let mut late = web(&pool, &[]);
    late.submit("/app/magic", "/app/magic", &[("email", "ada@example.com")]).await;
    let stale = link_in_mail(&pool, "ada@example.com", "/app/magic/").await;
    sqlx::query("UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE consumed_at IS NULL").execute(&pool).await.unwrap();
    assert_eq!(late.get(&stale).await.status, StatusCode::GONE);
    let csrf = late.get("/app/magic").await.csrf();
    assert_eq!(late.post_raw(&stale, &[("csrf", &csrf)]).await.status, StatusCode::GONE);
    assert!(!late.cookies.contains_key("prikke_session"));

    // a password reset ends every session, and the new password works
    let mut forgetful = web(&pool, &[]);
    forgetful.submit("/app/reset", "/app/reset", &[("email", "ada@example.com")]).await;
    let reset = link_in_mail(&pool, "ada@example.com", "/app/reset/").await;
    let short = forgetful.submit(&reset, &reset, &[("password", "short")]).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY, "explained, and the link still works");
    let done = forgetful.submit(&reset, &reset, &[("password", "a brand new passphrase")]).await;
    assert_eq!(done.location(), Some("/app"));
    assert_eq!(guest.get("/app").await.location(), Some("/app/login?next=/app"), "the other browser is signed out");
    assert_eq!(w.get("/app").await.location(), Some("/app/login?next=/app"));
    let old = w.submit("/app/login", "/app/login", &[("email", "ada@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = w.submit("/app/login", "/app/login", &[("email", "ada@example.com"), ("password", "a brand new passphrase")]).await;
    assert_eq!(new.location(), Some("/app"));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn guessing_is_throttled(pool: PgPool) {
    let mut w = web(&pool, &[("PRIKKE_LOGIN_RATE_PER_MINUTE", "3")]);
    member(&pool, &mut w, "ada@example.com", None).await;
    let mut attacker = web(&pool, &[("PRIKKE_LOGIN_RATE_PER_MINUTE", "3")]);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(attacker.submit("/app/login", "/app/login", &[("email", "ada@example.com"), ("password", "guess guess guess")]).await.status);
    }
    assert_eq!(statuses, vec![StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS]);
    // the right password does not get through the throttle either
    let right = attacker.submit("/app/login", "/app/login", &[("email", "ada@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn organizations_members_roles_and_keys(pool: PgPool) {
    let mut ada = web(&pool, &[]);
    member(&pool, &mut ada, "ada@example.com", Some("Acme")).await;
    let mut eve = web(&pool, &[]);
    member(&pool, &mut eve, "eve@example.com", Some("Evil Corp")).await;
    let acme: uuid::Uuid = sqlx::query_scalar("SELECT id FROM organizations WHERE name = 'Acme'").fetch_one(&pool).await.unwrap();

    // an API key made in the app works against the API at once, and the audit log says who made it
    let made = ada.submit("/app/keys", "/app/keys", &[("name", "CI")]).await;
    assert!(made.contains("shown only this once"), "{}", made.html);
    let token_at = made.html.find("pk_live_").unwrap();
    let token: String = made.html[token_at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.').collect();
    let api = support::Api::new(pool.clone());
    assert_eq!(api.get("/api/v1/jobs", &token).await.status, StatusCode::OK);
    let key_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM api_keys WHERE org_id = $1").bind(acme).fetch_one(&pool).await.unwrap();
    let audit = ada.get("/app/audit").await;
    assert!(audit.contains("api_key.created") && audit.contains("ada@example.com") && audit.contains("organization.created"), "{}", audit.html);

    // another organization's ids are not found, and change nothing
    let ada_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'ada@example.com'").fetch_one(&pool).await.unwrap();
    for path in [
        format!("/app/keys/{key_id}/revoke"),
        format!("/app/keys/{key_id}/rotate"),
        format!("/app/orgs/{acme}/switch"),
        format!("/app/members/{ada_id}/remove"),
        format!("/app/members/{ada_id}/role"),
    ] {
        let r = eve.submit("/app/keys", &path, &[("role", "member")]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.html);
    }
    assert_eq!(api.get("/api/v1/jobs", &token).await.status, StatusCode::OK, "the key still works");

    // an invitation: the invited person signs up from it, confirms, accepts, and is a member
    let invited = ada.submit("/app/members", "/app/members/invite", &[("email", "bob@example.com"), ("role", "member")]).await;
    assert_eq!(invited.location(), Some("/app/members"), "{}", invited.html);
    let invite = link_in_mail(&pool, "bob@example.com", "/app/invite/").await;
    let path = invite.trim_start_matches("https://prikke.test");
    let mut bob = web(&pool, &[]);
    let page = bob.get(path).await;
    assert!(page.contains("Acme") && page.contains("Create an account"), "{}", page.html);
    let signup_path = format!("/app/signup?next={path}");
    bob.submit(&signup_path, "/app/signup", &[("email", "bob@example.com"), ("password", PASSWORD), ("next", path)]).await;
    let confirm = link_in_mail(&pool, "bob@example.com", "/app/confirm/").await;
    assert!(confirm.ends_with(&format!("?next={path}")), "{confirm}");
    let back = bob.submit(&confirm, &confirm, &[("next", path)]).await;
    assert_eq!(back.location(), Some(path), "back to the invitation after confirming");
    let accepted = bob.submit(path, &format!("{path}/accept"), &[]).await;
    assert_eq!(accepted.location(), Some("/app"));
    let home = bob.get("/app").await;
    assert!(home.contains("Acme") && home.contains("member"), "{}", home.html);
    assert_eq!(bob.get(path).await.status, StatusCode::GONE, "the invitation worked once");

    // a member reaches no admin page or action
    for path in ["/app/keys", "/app/audit"] {
        assert_eq!(bob.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let r = bob.submit("/app/members", "/app/members/invite", &[("email", "mallory@example.com"), ("role", "admin")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = bob.submit("/app/members", &format!("/app/keys/{key_id}/revoke"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(api.get("/api/v1/jobs", &token).await.status, StatusCode::OK);

    // the Free plan's two seats are taken (Ada and Bob): a third invitation is refused
    let full = ada.submit("/app/members", "/app/members/invite", &[("email", "carol@example.com"), ("role", "member")]).await;
    assert!(full.contains("allows 2 members"), "{}", full.html);
    // the last owner cannot leave; after making Bob owner, Ada can
    let stay = ada.submit("/app/members", "/app/members/leave", &[]).await;
    assert!(stay.contains("last owner"), "{}", stay.html);
    let bob_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'bob@example.com'").fetch_one(&pool).await.unwrap();
    let promoted = ada.submit("/app/members", &format!("/app/members/{bob_id}/role"), &[("role", "owner")]).await;
    assert_eq!(promoted.location(), Some("/app/members"), "{}", promoted.html);
    let left = ada.submit("/app/members", "/app/members/leave", &[]).await;
    assert_eq!(left.location(), Some("/app"));
    let roles: Vec<(String, String)> = sqlx::query_as("SELECT u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1")
        .bind(acme)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(roles, vec![("bob@example.com".to_owned(), "owner".to_owned())]);
    let log: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE org_id = $1 ORDER BY id").bind(acme).fetch_all(&pool).await.unwrap();
    assert_eq!(log, vec!["organization.created", "api_key.created", "member.invited", "member.joined", "member.role_changed", "member.removed"]);
    let _ = Tier::Free;
}

/// An owner deletes the organization (confirmed by its slug; a member may not), which then shows
/// only its settings, and restores it; a member deletes their own account, the organization's
/// only owner may not. Each step is in the audit log.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_owner_deletes_and_restores_the_organization_and_a_member_deletes_their_account(pool: PgPool) {
    let mut owner = web(&pool, &[]);
    member(&pool, &mut owner, "owner@fjord.example", Some("Fjord")).await;
    let (org, slug): (uuid::Uuid, String) = sqlx::query_as("SELECT id, slug FROM organizations WHERE name = 'Fjord'").fetch_one(&pool).await.unwrap();
    let mut colleague = web(&pool, &[]);
    member(&pool, &mut colleague, "colleague@fjord.example", None).await;
    let colleague_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'colleague@fjord.example'").fetch_one(&pool).await.unwrap();
    store::users::upsert_membership(&pool, org, colleague_id, store::users::Role::Admin).await.unwrap();
    let marked = || async { sqlx::query_scalar::<_, Option<chrono::DateTime<chrono::Utc>>>("SELECT purge_after FROM organizations WHERE id = $1").bind(org).fetch_one(&pool).await.unwrap() };

    assert!(owner.get("/app/settings").await.contains("Delete this organization"));
    let wrong = owner.submit("/app/settings", "/app/settings/delete", &[("confirm", "fjord")]).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.html);
    assert!(wrong.contains(&slug) && wrong.contains("Nothing was deleted"), "{}", wrong.html);
    assert!(!colleague.get("/app/settings").await.contains("Delete this organization"), "an admin is not offered it");
    let refused = colleague.submit("/app/settings", "/app/settings/delete", &[("confirm", &slug)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    assert_eq!(marked().await, None);

    let done = owner.submit("/app/settings", "/app/settings/delete", &[("confirm", &slug)]).await;
    assert_eq!(done.location(), Some("/app/settings#delete"), "{}", done.html);
    let purge_after = marked().await.expect("scheduled");
    let days = (purge_after - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "seven days of grace: {days} h");
    let settings = owner.get("/app/settings").await;
    assert!(settings.contains("scheduled for deletion") && settings.contains("Restore the organization"), "{}", settings.html);
    assert_eq!(owner.get("/app/jobs").await.location(), Some("/app/settings#delete"), "only its settings open");
    assert!(!colleague.get("/app/settings").await.contains("Restore the organization"), "an admin may download, not restore");

    let restored = owner.submit("/app/settings", "/app/settings/restore", &[]).await;
    assert_eq!(restored.location(), Some("/app/settings"), "{}", restored.html);
    assert_eq!(marked().await, None);
    assert_eq!(owner.get("/app/jobs").await.status, StatusCode::OK);
    let again = owner.submit("/app/settings", "/app/settings/restore", &[]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "not scheduled any more");

    // accounts: the only owner is refused and keeps everything; a colleague goes
    let sole = owner.submit("/app/settings", "/app/account/delete", &[("confirm", "owner@fjord.example")]).await;
    assert_eq!(sole.status, StatusCode::BAD_REQUEST, "{}", sole.html);
    assert!(sole.contains("only owner of Fjord"), "{}", sole.html);
    let typo = colleague.submit("/app/settings", "/app/account/delete", &[("confirm", "someone@else.example")]).await;
    assert_eq!(typo.status, StatusCode::BAD_REQUEST);
    let gone = colleague.submit("/app/settings", "/app/account/delete", &[("confirm", "Colleague@Fjord.example")]).await;
    assert_eq!(gone.location(), Some("/app/login?done=account_deleted"), "{}", gone.html);
    assert!(colleague.follow(&gone).await.contains("Your account is deleted"));
    assert!(colleague.get("/app").await.location().is_some_and(|l| l.starts_with("/app/login")), "signed out");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'colleague@fjord.example'").fetch_one(&pool).await.unwrap();
    assert_eq!(left, 0);
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE org_id = $1 AND action NOT IN ('organization.created', 'login.new_client') ORDER BY id").bind(org).fetch_all(&pool).await.unwrap();
    assert_eq!(actions, ["organization.deletion_requested", "organization.restored", "user.deleted"]);
}
