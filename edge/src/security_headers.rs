//! The security header policy: which headers every response leaving the edge carries, for the
//! edge's own pages and for responses forwarded from api-fn.

/// CSP for the edge's pages: no scripts at all, styles and images from this origin only, forms
/// post only back here, and no framing.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// CSP for forwarded responses that bring none of their own (API JSON, dashboard pages).
pub const FORWARDED_DEFAULT_CSP: &str = "default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Two years, subdomains included, eligible for browser preload lists.
pub const HSTS: &str = "max-age=63072000; includeSubDomains; preload";

/// Headers set on every response whatever its source; they replace any value the origin sent.
pub const ALWAYS: [(&str, &str); 6] = [
    ("strict-transport-security", HSTS),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
];

/// Headers to set on a page the edge rendered itself.
pub fn for_page() -> Vec<(&'static str, String)> {
    let mut headers: Vec<(&'static str, String)> = ALWAYS
        .iter()
        .map(|(name, value)| (*name, (*value).to_owned()))
        .collect();
    headers.push(("content-security-policy", PAGE_CSP.to_owned()));
    headers
}

/// Headers to set on a response forwarded from api-fn, given the CSP it arrived with.
///
/// api-fn knows what its dashboard pages need, so its own CSP is kept; the edge only makes sure
/// framing is forbidden (adding `frame-ancestors 'none'` when the origin did not decide) and
/// supplies [`FORWARDED_DEFAULT_CSP`] when the origin sent none.
pub fn for_forwarded(origin_csp: Option<&str>) -> Vec<(&'static str, String)> {
    let mut headers: Vec<(&'static str, String)> = ALWAYS
        .iter()
        .map(|(name, value)| (*name, (*value).to_owned()))
        .collect();
    let csp = match origin_csp.map(str::trim).filter(|csp| !csp.is_empty()) {
        None => FORWARDED_DEFAULT_CSP.to_owned(),
        Some(csp) if has_directive(csp, "frame-ancestors") => csp.to_owned(),
        Some(csp) => format!(
            "{}; frame-ancestors 'none'",
            csp.trim_end_matches(';').trim_end()
        ),
    };
    headers.push(("content-security-policy", csp));
    headers
}

/// True when the policy `csp` contains `directive` (directive names are case-insensitive).
fn has_directive(csp: &str, directive: &str) -> bool {
    csp.split(';')
        .filter_map(|part| part.split_whitespace().next())
        .any(|name| name.eq_ignore_ascii_case(directive))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(headers: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn pages_get_the_strict_policy_and_the_transport_headers() {
        let headers = for_page();
        assert_eq!(value(&headers, "content-security-policy"), Some(PAGE_CSP));
        assert!(PAGE_CSP.contains("frame-ancestors 'none'"));
        assert!(PAGE_CSP.contains("default-src 'none'"));
        assert!(
            !PAGE_CSP.contains("script-src"),
            "pages carry no JavaScript"
        );
        assert_eq!(value(&headers, "strict-transport-security"), Some(HSTS));
        assert_eq!(value(&headers, "x-content-type-options"), Some("nosniff"));
        assert_eq!(
            value(&headers, "referrer-policy"),
            Some("strict-origin-when-cross-origin")
        );
        assert_eq!(value(&headers, "x-frame-options"), Some("DENY"));
    }

    #[test]
    fn header_names_are_lower_case_and_unique() {
        for headers in [for_page(), for_forwarded(None)] {
            let mut names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
            assert!(
                names
                    .iter()
                    .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
            );
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), headers.len());
        }
    }

    #[test]
    fn forwarded_responses_without_a_policy_get_the_default() {
        let headers = for_forwarded(None);
        assert_eq!(
            value(&headers, "content-security-policy"),
            Some(FORWARDED_DEFAULT_CSP)
        );
        assert_eq!(
            value(&for_forwarded(Some("  ")), "content-security-policy"),
            Some(FORWARDED_DEFAULT_CSP)
        );
        assert_eq!(value(&headers, "strict-transport-security"), Some(HSTS));
        assert_eq!(value(&headers, "x-content-type-options"), Some("nosniff"));
    }

    #[test]
    fn an_origin_policy_is_kept_and_framing_is_forbidden_when_it_is_silent() {
        let headers = for_forwarded(Some("default-src 'self'; script-src 'self';"));
        assert_eq!(
            value(&headers, "content-security-policy"),
            Some("default-src 'self'; script-src 'self'; frame-ancestors 'none'")
        );
    }

    #[test]
    fn an_origin_that_decided_about_framing_keeps_its_decision() {
        let policy = "default-src 'self'; Frame-Ancestors https://partner.example";
        assert_eq!(
            value(&for_forwarded(Some(policy)), "content-security-policy"),
            Some(policy)
        );
    }

    #[test]
    fn a_directive_is_matched_by_name_not_by_substring() {
        assert!(!has_directive(
            "default-src https://frame-ancestors.example",
            "frame-ancestors"
        ));
        assert!(has_directive(
            "default-src 'self';frame-ancestors 'self'",
            "frame-ancestors"
        ));
    }
}
