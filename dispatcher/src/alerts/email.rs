//! Alert e-mail over SMTP (lettre): plain text and HTML, a `Message-ID` that is the send's id (a
//! message re-sent after a crash is recognisably the same one), and `List-Unsubscribe` pointing
//! at the channel's one-click unsubscribe link.

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::render::{self, Summary};

/// The SMTP connection and the sender's address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // the transport holds the credentials: never printed
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl Mailer {
    /// `url` as `PRIKKE_SMTP_URL` documents it (`smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host:465`); `from` a mailbox (`Prikke <alerts@prikke.eu>`).
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("PRIKKE_SMTP_URL is not usable: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(15)))
            .build();
        let from = from.parse::<Mailbox>().map_err(|e| format!("PRIKKE_SMTP_FROM {from:?} is not a mailbox: {e}"))?;
        Ok(Mailer { transport, from })
    }

    /// Sends `summary` to `to`. The error is a sentence for the outbox (no credentials in it).
    pub async fn send(&self, to: &str, summary: &Summary, unsubscribe: &str) -> Result<(), String> {
        let subject = format!("[Prikke] {}", summary.title);
        let headers = [
            ("List-Unsubscribe", format!("<{unsubscribe}>")),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".to_owned()),
            ("Auto-Submitted", "auto-generated".to_owned()),
        ];
        let (text, html) = (render::email_text(summary), render::email_html(summary));
        self.send_message(to, &subject, summary.id.uuid(), &headers, text, html).await
    }

    /// Sends one message (plain text and HTML) with `id` as its `Message-ID` (a message re-sent
    /// after a crash is recognisably the same) and the extra `headers`.
    pub async fn send_message(&self, to: &str, subject: &str, id: uuid::Uuid, headers: &[(&'static str, String)], text: String, html: String) -> Result<(), String> {
        let to = to.parse::<Mailbox>().map_err(|e| format!("the address {to:?} cannot be mailed: {e}"))?;
        let mut builder = Message::builder().from(self.from.clone()).to(to).subject(subject).message_id(Some(format!("<{id}@prikke.eu>")));
        for (name, value) in headers {
            builder = builder.raw_header(HeaderValue::new(HeaderName::new_from_ascii_str(name), value.clone()));
        }
        let message = builder.multipart(MultiPart::alternative_plain_html(text, html)).map_err(|e| format!("the message could not be built: {e}"))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| format!("SMTP: {e}"))
    }
}
