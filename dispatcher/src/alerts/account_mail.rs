//! Account e-mails (confirmation, magic link, reset, invitation, plan change) from the outbox
//! `store::mail`: api-fn writes them, this sends them with the alert e-mails' SMTP connection.
//! The sender wakes when `prikke_mail` is notified, so a sign-in link arrives within about a
//! second. A failed send is retried like an alert's (10 s, then three times longer each time)
//! until [`store::mail::GIVE_UP_AFTER`], when its links have long expired.

use chrono::Utc;
use domain::notification::retry_delay;
use store::mail::MailOutcome;

use super::Sender;

/// Messages claimed at once.
const CLAIM_BATCH: i64 = 100;

/// Sends what is due; returns how many messages it claimed.
pub(super) async fn round(s: &Sender) -> Result<usize, store::StoreError> {
    // without SMTP (allowed outside production) messages wait for a dispatcher that has it
    let Some(mailer) = &s.mailer else { return Ok(0) };
    let now = s.clock.now();
    let lease = chrono::Duration::from_std(s.settings.lease).unwrap_or(chrono::Duration::seconds(60));
    let mut tx = s.pool.begin().await?;
    let mails = store::mail::claim(&mut tx, &s.me, now, lease, CLAIM_BATCH).await?;
    tx.commit().await?;
    let claimed = mails.len();
    let mut sends = tokio::task::JoinSet::new();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(s.settings.concurrency.max(1)));
    for mail in mails {
        let (mailer, permits) = (mailer.clone(), permits.clone());
        sends.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let headers = [("Auto-Submitted", "auto-generated".to_owned())];
            let result = mailer.send_message(&mail.to, &mail.subject, mail.id, &headers, mail.text.clone(), mail.html.clone()).await;
            (mail, result)
        });
    }
    while let Some(done) = sends.join_next().await {
        let Ok((mail, result)) = done else { continue };
        let now = s.clock.now();
        let outcome = match result {
            Ok(()) => {
                metrics::counter!("prikke_account_mail_sent_total", "kind" => mail.kind.as_str()).increment(1);
                MailOutcome::Sent
            }
            Err(error) if now - mail.created_at >= store::mail::GIVE_UP_AFTER => {
                tracing::error!(mail_id = %mail.id, kind = %mail.kind, %error, "account e-mail given up");
                MailOutcome::GaveUp { error }
            }
            Err(error) => {
                tracing::warn!(mail_id = %mail.id, kind = %mail.kind, %error, attempts = mail.attempts, "account e-mail not sent; retrying");
                let wait = retry_delay(s.settings.first_retry, u32::try_from(mail.attempts).unwrap_or(1));
                MailOutcome::Retry { at: now + chrono::Duration::from_std(wait).unwrap_or_default(), error }
            }
        };
        if !store::mail::record(&s.pool, &s.me, mail.id, &outcome, Utc::now().max(now)).await? {
            tracing::warn!(mail_id = %mail.id, "an account e-mail's lease expired before its outcome was written; it may be sent again");
        }
    }
    Ok(claimed)
}
