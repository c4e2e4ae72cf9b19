//! RFC 9457 problem documents: every Prikke service names a problem's `type` with a stable URI
//! under one base, `https://prikke.eu/problems/<slug>`.

/// The base of every problem `type` URI.
pub const TYPE_BASE: &str = "https://prikke.eu/problems/";

/// The `type` URI of the problem named `slug`.
pub fn type_uri(slug: &str) -> String {
    format!("{TYPE_BASE}{slug}")
}
