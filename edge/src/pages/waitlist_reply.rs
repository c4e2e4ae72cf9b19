//! Pages answering a sign-up sent from the landing page's form.

use super::{escape, layout, waitlist_form};
use crate::waitlist::Outcome;

fn page(title: &str, notice_class: &str, message: &str, form_value: Option<&str>) -> String {
    let form = form_value.map(waitlist_form).unwrap_or_default();
    let main = format!(
        r#"<section><div class="wrap"><h1>{}</h1><p class="{notice_class}">{message}</p>{form}<p><a href="/">Back to the start page</a> &middot; <a href="/docs">Read the docs</a></p></div></section>"#,
        escape(title)
    );
    layout(&format!("{title} · Prikke"), "", &main)
}

/// The address was stored, now or earlier.
pub fn stored(outcome: Outcome, email: &str) -> String {
    match outcome {
        Outcome::Added => page(
            "You are on the list",
            "notice",
            &format!(
                "Thank you. We will write to <strong>{}</strong> once, when it is your turn.",
                escape(email)
            ),
            None,
        ),
        Outcome::AlreadyListed => page(
            "You were already on the list",
            "notice",
            &format!(
                "<strong>{}</strong> is already on the waitlist; nothing more to do.",
                escape(email)
            ),
            None,
        ),
    }
}

/// The address was refused; `reason` is shown and the form is offered again with `typed`.
pub fn refused(reason: &str, typed: &str) -> String {
    page(
        "That address did not work",
        "notice error",
        &escape(reason),
        Some(typed),
    )
}

/// The address could not be stored right now.
pub fn unavailable(typed: &str) -> String {
    page(
        "We could not save your address just now",
        "notice warn",
        "The sign-up service did not answer. Please try again in a minute.",
        Some(typed),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirms_new_and_repeated_sign_ups() {
        assert!(
            stored(Outcome::Added, "ada@example.eu")
                .contains("We will write to <strong>ada@example.eu</strong>")
        );
        assert!(
            stored(Outcome::AlreadyListed, "ada@example.eu").contains("already on the waitlist")
        );
    }

    #[test]
    fn a_refusal_explains_and_offers_the_form_again_escaped() {
        let html = refused(
            "An email address needs exactly one \"@\", as in name@example.com.",
            "<ada>",
        );
        assert!(
            html.contains(
                "An email address needs exactly one &quot;@&quot;, as in name@example.com."
            )
        );
        assert!(html.contains(r#"value="&lt;ada&gt;""#));
        assert!(!html.contains("<ada>"));
    }

    #[test]
    fn an_outage_asks_to_retry() {
        assert!(unavailable("ada@example.eu").contains("Please try again in a minute."));
    }
}
