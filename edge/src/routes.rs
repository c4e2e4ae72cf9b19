//! The edge's routing table: which handler answers a method and path. Pure, so it is tested natively.

/// A page rendered by the edge itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Landing,
    UseCases,
    Status,
    Docs(DocPage),
}

/// One page of the documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocPage {
    GettingStarted,
    ApiReference,
    CronSyntax,
    Webhooks,
}

impl DocPage {
    pub const ALL: [DocPage; 4] = [
        DocPage::GettingStarted,
        DocPage::ApiReference,
        DocPage::CronSyntax,
        DocPage::Webhooks,
    ];

    pub fn path(self) -> &'static str {
        match self {
            DocPage::GettingStarted => "/docs",
            DocPage::ApiReference => "/docs/api",
            DocPage::CronSyntax => "/docs/cron",
            DocPage::Webhooks => "/docs/webhooks",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            DocPage::GettingStarted => "Getting started",
            DocPage::ApiReference => "API reference",
            DocPage::CronSyntax => "Cron syntax",
            DocPage::Webhooks => "Webhooks and signatures",
        }
    }
}

/// A static file the pages refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset {
    Stylesheet,
    Favicon,
}

impl Asset {
    pub fn path(self) -> &'static str {
        match self {
            Asset::Stylesheet => "/assets/site.css",
            Asset::Favicon => "/favicon.svg",
        }
    }
}

/// What answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Page(Page),
    Asset(Asset),
    /// `GET /health`: the edge's own health report.
    Health,
    /// `POST /waitlist`: form or JSON sign-up.
    Waitlist,
    /// Everything under `/api`, `/app`, `/ping` and `/billing` (the billing provider's webhook)
    /// belongs to api-fn and is forwarded untouched.
    Forward,
    /// The path exists but not for this method; `allow` lists the methods it answers.
    MethodNotAllowed {
        allow: &'static str,
    },
    NotFound,
}

/// Path prefixes owned by api-fn.
pub const FORWARDED_PREFIXES: [&str; 4] = ["/api", "/app", "/ping", "/billing"];

const READ_METHODS: &str = "GET, HEAD";

/// Picks the handler for `method` and `path` (the URL path only, without the query).
/// Forwarded prefixes accept every method; a single trailing slash on an edge path is ignored.
pub fn route(method: &str, path: &str) -> Route {
    if is_forwarded(path) {
        return Route::Forward;
    }
    let path = match path.strip_suffix('/') {
        Some(stripped) if !stripped.is_empty() => stripped,
        _ => path,
    };
    let read = matches!(method, "GET" | "HEAD");
    let read_only = |target: Route| {
        if read {
            target
        } else {
            Route::MethodNotAllowed {
                allow: READ_METHODS,
            }
        }
    };
    match path {
        "/" => read_only(Route::Page(Page::Landing)),
        "/use-cases" => read_only(Route::Page(Page::UseCases)),
        "/status" => read_only(Route::Page(Page::Status)),
        "/health" => read_only(Route::Health),
        "/waitlist" if method == "POST" => Route::Waitlist,
        "/waitlist" => Route::MethodNotAllowed { allow: "POST" },
        _ => {
            if let Some(doc) = DocPage::ALL.into_iter().find(|doc| doc.path() == path) {
                read_only(Route::Page(Page::Docs(doc)))
            } else if let Some(asset) = [Asset::Stylesheet, Asset::Favicon]
                .into_iter()
                .find(|a| a.path() == path)
            {
                read_only(Route::Asset(asset))
            } else {
                Route::NotFound
            }
        }
    }
}

/// True for `/api`, `/api/…` (and the same for `/app`, `/ping`), but not for `/apiary`.
pub fn is_forwarded(path: &str) -> bool {
    FORWARDED_PREFIXES.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_answer_get_and_head() {
        for method in ["GET", "HEAD"] {
            assert_eq!(route(method, "/"), Route::Page(Page::Landing));
            assert_eq!(route(method, "/use-cases"), Route::Page(Page::UseCases));
            assert_eq!(route(method, "/status"), Route::Page(Page::Status));
            assert_eq!(
                route(method, "/docs"),
                Route::Page(Page::Docs(DocPage::GettingStarted))
            );
            assert_eq!(
                route(method, "/docs/api"),
                Route::Page(Page::Docs(DocPage::ApiReference))
            );
            assert_eq!(
                route(method, "/docs/cron"),
                Route::Page(Page::Docs(DocPage::CronSyntax))
            );
            assert_eq!(
                route(method, "/docs/webhooks"),
                Route::Page(Page::Docs(DocPage::Webhooks))
            );
            assert_eq!(
                route(method, "/assets/site.css"),
                Route::Asset(Asset::Stylesheet)
            );
            assert_eq!(route(method, "/favicon.svg"), Route::Asset(Asset::Favicon));
            assert_eq!(route(method, "/health"), Route::Health);
        }
    }

    #[test]
    fn a_trailing_slash_is_ignored_on_edge_paths() {
        assert_eq!(
            route("GET", "/docs/"),
            Route::Page(Page::Docs(DocPage::GettingStarted))
        );
        assert_eq!(route("GET", "/status/"), Route::Page(Page::Status));
        assert_eq!(route("GET", "/docs//"), Route::NotFound);
    }

    #[test]
    fn writing_to_a_page_is_not_allowed() {
        assert_eq!(
            route("POST", "/"),
            Route::MethodNotAllowed { allow: "GET, HEAD" }
        );
        assert_eq!(
            route("DELETE", "/docs/cron"),
            Route::MethodNotAllowed { allow: "GET, HEAD" }
        );
        assert_eq!(
            route("PUT", "/health"),
            Route::MethodNotAllowed { allow: "GET, HEAD" }
        );
    }

    #[test]
    fn the_waitlist_takes_posts_only() {
        assert_eq!(route("POST", "/waitlist"), Route::Waitlist);
        assert_eq!(
            route("GET", "/waitlist"),
            Route::MethodNotAllowed { allow: "POST" }
        );
    }

    #[test]
    fn api_app_ping_and_billing_are_forwarded_for_every_method() {
        for method in [
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND",
        ] {
            for path in [
                "/api",
                "/api/",
                "/api/v1/jobs",
                "/app",
                "/app/jobs/1/edit",
                "/ping/abc",
                "/ping/abc/fail",
                "/billing/webhook",
            ] {
                assert_eq!(route(method, path), Route::Forward, "{method} {path}");
            }
        }
    }

    #[test]
    fn lookalike_prefixes_are_not_forwarded() {
        assert_eq!(route("GET", "/apiary"), Route::NotFound);
        assert_eq!(route("GET", "/application"), Route::NotFound);
        assert_eq!(route("GET", "/pingu"), Route::NotFound);
        assert_eq!(route("POST", "/billings"), Route::NotFound);
        assert_eq!(route("GET", "/docs/api/v1"), Route::NotFound);
        assert!(!is_forwarded("/API/v1/jobs"));
    }

    #[test]
    fn unknown_paths_are_not_found() {
        assert_eq!(route("GET", "/nope"), Route::NotFound);
        assert_eq!(route("POST", "/nope"), Route::NotFound);
    }
}
