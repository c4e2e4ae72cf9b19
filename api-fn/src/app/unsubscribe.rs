//! The one-click unsubscribe link of alert e-mails (RFC 8058): `GET` shows what the link would
//! turn off and asks to confirm (link scanners only GET), `POST` turns the channel off. It needs
//! no sign-in: the link's token is the capability.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::AppState;
use crate::problem::Problem;
use crate::v1::extract::ApiPath;

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Prikke</title><style>body{{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f8fafc;color:#0f172a;\
         max-width:36rem;margin:4rem auto;padding:0 1rem}}h1{{font-size:1.4rem}}button{{background:#10b981;color:#fff;border:0;border-radius:.4rem;\
         padding:.6rem 1.2rem;font-size:1rem;cursor:pointer}}button:focus{{outline:3px solid #0f172a}}</style></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>"
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, page("Link not found", "<p>This unsubscribe link is not valid (the channel may have been deleted).</p>")).into_response()
}

/// Shows what the link turns off and asks to confirm.
pub async fn unsubscribe_page(State(state): State<AppState>, ApiPath(token): ApiPath<String>) -> Result<Response, Problem> {
    let Some((org, target, enabled)) = store::notification_channels::by_unsubscribe_token(&state.pool, &token).await? else {
        return Ok(not_found());
    };
    let body = if enabled {
        format!(
            "<p>Stop Prikke's alerts for <strong>{}</strong> to <strong>{}</strong>?</p>\
             <form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>",
            escape(&org),
            escape(&target)
        )
    } else {
        format!("<p>Alerts for <strong>{}</strong> no longer go to <strong>{}</strong>.</p>", escape(&org), escape(&target))
    };
    Ok(page("Unsubscribe", &body).into_response())
}

/// Turns the channel off (the one-click POST of a mail client, or the form above).
pub async fn unsubscribe(State(state): State<AppState>, ApiPath(token): ApiPath<String>) -> Result<Response, Problem> {
    match store::notification_channels::unsubscribe(&state.pool, &token).await? {
        Some(target) => {
            tracing::info!("notification channel turned off by its unsubscribe link");
            let body = format!("<p>Done: no more alerts go to <strong>{}</strong>. The channel stays, turned off, and can be turned on again through the API.</p>", escape(&target));
            Ok(page("Unsubscribed", &body).into_response())
        }
        None => Ok(not_found()),
    }
}
