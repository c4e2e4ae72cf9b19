//! HTML pages served by the edge: the shared layout, the static pages built from `edge/content/`,
//! and small message pages. No JavaScript anywhere; one stylesheet.

pub mod status;
pub mod waitlist_reply;

use crate::routes::{Asset, DocPage, Page};

pub const STYLESHEET: &str = include_str!("../../content/site.css");
pub const FAVICON_SVG: &str = include_str!("../../content/favicon.svg");

const LANDING: &str = include_str!("../../content/landing.html");
const USE_CASES: &str = include_str!("../../content/use-cases.html");
const DOCS_GETTING_STARTED: &str = include_str!("../../content/docs-getting-started.html");
const DOCS_API: &str = include_str!("../../content/docs-api.html");
const DOCS_CRON: &str = include_str!("../../content/docs-cron.html");
const DOCS_WEBHOOKS: &str = include_str!("../../content/docs-webhooks.html");

/// Code examples shown on the pages, by file name; scripts/edge/http_checks.py runs the
/// verification examples against a Standard Webhooks test vector.
pub const EXAMPLES: [(&str, &str); 3] = [
    (
        "create-job.sh",
        include_str!("../../content/examples/create-job.sh"),
    ),
    (
        "verify.py",
        include_str!("../../content/examples/verify.py"),
    ),
    (
        "verify.js",
        include_str!("../../content/examples/verify.js"),
    ),
];

/// Escapes text for use in HTML content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The sign-up form, optionally pre-filled with what the visitor typed.
pub fn waitlist_form(value: &str) -> String {
    format!(
        r#"<form class="waitlist" method="post" action="/waitlist"><label class="visually-hidden" for="email">Email address</label><input id="email" type="email" name="email" required maxlength="254" autocomplete="email" placeholder="you@company.eu" value="{}"><button class="button" type="submit">Join the waitlist</button></form>"#,
        escape(value)
    )
}

const NAV: [(&str, &str); 5] = [
    ("/docs", "Docs"),
    ("/use-cases", "Use cases"),
    ("/#pricing", "Pricing"),
    ("/status", "Status"),
    ("/app", "Sign in"),
];

/// Wraps `main` (trusted HTML) in the site's layout. `current` is the path of the active section.
pub fn layout(title: &str, current: &str, main: &str) -> String {
    let nav: String = NAV
        .iter()
        .map(|(href, label)| {
            let active = if *href == current {
                r#" aria-current="page""#
            } else {
                ""
            };
            format!(r#"<a href="{href}"{active}>{label}</a>"#)
        })
        .collect();
    format!(
        concat!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8">"#,
            r#"<meta name="viewport" content="width=device-width,initial-scale=1">"#,
            r#"<title>{title}</title><meta name="description" content="Prikke calls your HTTP endpoints on time: cron, one-time jobs and signed webhooks, hosted in the EU.">"#,
            r##"<meta name="theme-color" content="#0f172a"><link rel="stylesheet" href="{css}"><link rel="icon" href="{icon}" type="image/svg+xml"></head>"##,
            r#"<body><header class="site"><div class="wrap"><a class="logo" href="/">Prikke<b>.</b></a>{nav}</div></header>"#,
            r#"<main>{main}</main>"#,
            r#"<footer class="site"><div class="wrap">Prikke &middot; Jobs done, til punkt og prikke &middot; Hosted in the EU &middot; <a href="/status">Status</a> &middot; <a href="/docs">Docs</a></div></footer>"#,
            "</body></html>"
        ),
        title = escape(title),
        css = Asset::Stylesheet.path(),
        icon = Asset::Favicon.path(),
        nav = nav,
        main = main,
    )
}

/// Replaces `<!-- example:NAME -->` with the escaped example and `<!-- waitlist-form -->` with
/// the form.
fn expand(content: &str) -> String {
    let mut html = content.replace("<!-- waitlist-form -->", &waitlist_form(""));
    for (name, code) in EXAMPLES {
        let marker = format!("<!-- example:{name} -->");
        if html.contains(&marker) {
            html = html.replace(
                &marker,
                &format!("<pre><code>{}</code></pre>", escape(code.trim_end())),
            );
        }
    }
    html
}

fn docs_page(doc: DocPage) -> String {
    let content = match doc {
        DocPage::GettingStarted => DOCS_GETTING_STARTED,
        DocPage::ApiReference => DOCS_API,
        DocPage::CronSyntax => DOCS_CRON,
        DocPage::Webhooks => DOCS_WEBHOOKS,
    };
    let side: String = DocPage::ALL
        .iter()
        .map(|d| {
            let active = if *d == doc {
                r#" aria-current="page""#
            } else {
                ""
            };
            format!(r#"<a href="{}"{active}>{}</a>"#, d.path(), d.title())
        })
        .collect();
    let main = format!(
        r#"<div class="wrap docs"><nav aria-label="Documentation">{side}<a href="/api/v1/openapi.json">OpenAPI document</a></nav><article>{}</article></div>"#,
        expand(content)
    );
    layout(&format!("{} · Prikke docs", doc.title()), "/docs", &main)
}

/// The HTML of a page that needs no data from elsewhere; `None` for the status page.
pub fn static_page(page: Page) -> Option<String> {
    match page {
        Page::Landing => Some(layout(
            "Prikke · Jobs done, til punkt og prikke",
            "/",
            &expand(LANDING),
        )),
        Page::UseCases => Some(layout(
            "Use cases · Prikke",
            "/use-cases",
            &expand(USE_CASES),
        )),
        Page::Docs(doc) => Some(docs_page(doc)),
        Page::Status => None,
    }
}

/// A short page with a heading and one paragraph (errors, refusals).
pub fn message_page(title: &str, text: &str) -> String {
    let main = format!(
        r#"<section><div class="wrap"><h1>{}</h1><p>{}</p><p><a href="/">Back to the start page</a></p></div></section>"#,
        escape(title),
        escape(text)
    );
    layout(&format!("{title} · Prikke"), "", &main)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn the_landing_page_has_every_required_part() {
        let html = static_page(Page::Landing).unwrap();
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("Jobs done, <em>til punkt og prikke</em>"));
        assert!(html.contains(r#"id="features""#));
        assert!(html.contains("/api/v1/jobs"), "code example creating a job");
        assert!(
            html.contains("def verify(secret"),
            "code example verifying a signature"
        );
        assert!(
            html.contains("Free")
                && html.contains("&euro;29/month")
                && html.contains("250,000 / month")
        );
        assert!(html.contains(r#"<form class="waitlist" method="post" action="/waitlist">"#));
        assert!(!html.contains("<!-- "), "every marker was expanded");
        assert!(!html.contains("<script"), "pages carry no JavaScript");
    }

    #[test]
    fn examples_are_escaped_into_the_page() {
        let html = static_page(Page::Docs(DocPage::Webhooks)).unwrap();
        assert!(html.contains("const crypto = require(&quot;node:crypto&quot;);"));
        assert!(html.contains("def verify(secret: str, headers: dict, body: bytes"));
        assert!(!html.contains("<!-- example:"));
    }

    #[test]
    fn every_docs_page_renders_with_its_navigation() {
        for doc in DocPage::ALL {
            let html = static_page(Page::Docs(doc)).unwrap();
            assert!(
                html.contains(&format!(
                    r#"<a href="{}" aria-current="page">{}</a>"#,
                    doc.path(),
                    doc.title()
                )),
                "{doc:?}"
            );
            assert!(html.contains(r#"href="/api/v1/openapi.json""#));
            assert!(!html.contains("<!-- "), "{doc:?}");
        }
    }

    #[test]
    fn the_form_keeps_what_was_typed_safely() {
        let form = waitlist_form(r#""><img src=x>"#);
        assert!(form.contains(r#"value="&quot;&gt;&lt;img src=x&gt;""#));
    }

    #[test]
    fn the_status_page_is_not_static() {
        assert_eq!(static_page(Page::Status), None);
    }
}
