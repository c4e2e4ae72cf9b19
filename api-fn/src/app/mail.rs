//! The account e-mails: each is written to the outbox (`store::mail`) in the transaction that
//! makes its link, and the dispatcher sends it. Plain text and a small HTML part; the link is
//! the only thing to click.

use domain::account::MailKind;
use maud::html;
use sqlx::PgConnection;
use uuid::Uuid;

use super::AppError;

/// Queues one message to `to` with `lead` (a sentence), the link and what it does, and `after`
/// (what to do if it was not you).
pub async fn send(
    tx: &mut PgConnection,
    org_id: Option<Uuid>,
    kind: MailKind,
    to: &str,
    subject: &str,
    lead: &str,
    link: &str,
    action: &str,
    after: &str,
) -> Result<(), AppError> {
    let text = format!("{lead}\n\n{action}: {link}\n\n{after}\n\n-- \nPrikke · prikke.eu\n");
    let html = html! {
        p { (lead) }
        p { a href=(link) style="display:inline-block;background:#10b981;color:#0f172a;font-weight:700;padding:.6rem 1.1rem;border-radius:.5rem;text-decoration:none" { (action) } }
        p style="color:#475569;font-size:13px" { "Or paste this address into your browser: " (link) }
        p style="color:#475569;font-size:13px" { (after) }
    }
    .into_string();
    let subject = format!("[Prikke] {subject}");
    store::mail::enqueue(&mut *tx, &store::mail::NewMail { org_id, kind, to, subject: &subject, text: &text, html: &html }).await?;
    Ok(())
}
