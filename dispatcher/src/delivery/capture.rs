//! Capturing what the receiver answered, within fixed bounds: response headers (count and size
//! capped) and the body up to a byte cap, stored as text.
//!
//! Storage rules (the execution history keeps these in Postgres `text`/`jsonb`):
//! - bodies are decoded as UTF-8 **lossily**: invalid sequences become U+FFFD. Receivers answer
//!   with JSON, HTML or plain text in practice; a byte-exact base64 copy of a binary body would
//!   be unreadable in the dashboard and is not worth the third column it would need;
//! - a body cut at the cap loses the incomplete UTF-8 sequence at the cut instead of showing a
//!   spurious U+FFFD there;
//! - NUL characters, which Postgres text cannot hold, become U+FFFD too;
//! - at most [`MAX_HEADERS`] headers, values cut at [`MAX_HEADER_VALUE_BYTES`] (on a character
//!   boundary, marked with `…`), and no more than [`MAX_HEADER_BYTES`] in all; names are the
//!   lower-case forms the HTTP client reports.

use reqwest::header::HeaderMap;

/// At most this many response headers are kept.
pub const MAX_HEADERS: usize = 64;
/// A longer header value is cut to this many bytes.
pub const MAX_HEADER_VALUE_BYTES: usize = 2048;
/// Names plus values of the kept headers stay under this many bytes.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The response headers, bounded as the module describes, in the order received.
pub fn capture_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut kept = Vec::with_capacity(headers.len().min(MAX_HEADERS));
    let mut budget = MAX_HEADER_BYTES;
    for (name, value) in headers {
        if kept.len() == MAX_HEADERS {
            break;
        }
        let name = name.as_str();
        let value = bounded_text(value.as_bytes(), MAX_HEADER_VALUE_BYTES);
        let cost = name.len() + value.len();
        if cost > budget {
            break;
        }
        budget -= cost;
        kept.push((name.to_owned(), value));
    }
    kept
}

/// `bytes` as text (lossy), cut to at most `max` bytes plus a `…` marker when longer.
fn bounded_text(bytes: &[u8], max: usize) -> String {
    if bytes.len() <= max {
        return storable_text(bytes.to_vec(), false);
    }
    let mut text = storable_text(bytes[..max].to_vec(), true);
    text.push('…');
    text
}

/// A response body read up to a cap.
#[derive(Debug)]
pub struct BodyCapture {
    buf: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl BodyCapture {
    /// An empty capture of at most `cap` bytes; `expected` (Content-Length) sizes the buffer.
    pub fn new(cap: usize, expected: Option<u64>) -> Self {
        let hint = expected.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
        BodyCapture {
            buf: Vec::with_capacity(hint.min(cap)),
            cap,
            truncated: false,
        }
    }

    /// Adds a chunk; returns false once the cap is exceeded, when reading should stop.
    ///
    /// The capture is marked truncated only when a byte beyond the cap actually arrives, so a
    /// body of exactly `cap` bytes is complete.
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        let room = self.cap - self.buf.len();
        if chunk.len() > room {
            self.buf.extend_from_slice(&chunk[..room]);
            self.truncated = true;
            return false;
        }
        self.buf.extend_from_slice(chunk);
        true
    }

    /// Whether bytes beyond the cap were seen (and dropped).
    #[cfg(test)]
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The captured text and whether it was truncated.
    pub fn finish(self) -> (String, bool) {
        (storable_text(self.buf, self.truncated), self.truncated)
    }
}

/// Text fit for Postgres: lossy UTF-8, no NUL, and (when `cut`) no broken sequence at the end.
fn storable_text(mut bytes: Vec<u8>, cut: bool) -> String {
    // `error_len() == None`: the input ends inside a sequence that was cut, not invalid.
    if cut
        && let Err(e) = std::str::from_utf8(&bytes)
        && e.error_len().is_none()
    {
        bytes.truncate(e.valid_up_to());
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    #[test]
    fn keeps_a_body_within_the_cap_whole() {
        let mut c = BodyCapture::new(10, Some(10));
        assert!(c.push(b"hello"));
        assert!(c.push(b"world"));
        assert_eq!(c.finish(), ("helloworld".to_owned(), false));
    }

    #[test]
    fn cuts_at_the_cap_and_says_so() {
        let mut c = BodyCapture::new(8, None);
        assert!(c.push(b"hello"));
        assert!(!c.push(b"world"));
        assert!(c.truncated());
        assert_eq!(c.finish(), ("hellowor".to_owned(), true));
    }

    #[test]
    fn a_body_of_exactly_the_cap_then_more_is_truncated() {
        let mut c = BodyCapture::new(5, None);
        assert!(c.push(b"hello"));
        assert!(!c.truncated());
        assert!(!c.push(b"!"));
        assert_eq!(c.finish(), ("hello".to_owned(), true));
    }

    #[test]
    fn drops_a_sequence_cut_by_the_cap_but_marks_invalid_bytes() {
        // "é" is two bytes; the cap falls between them.
        let mut c = BodyCapture::new(3, None);
        c.push("abé".as_bytes());
        c.push(b"more");
        assert_eq!(c.finish(), ("ab".to_owned(), true));

        let mut c = BodyCapture::new(100, None);
        c.push(b"ok \xff\xfe binary \0 nul");
        assert_eq!(c.finish().0, "ok \u{FFFD}\u{FFFD} binary \u{FFFD} nul");
    }

    #[test]
    fn bounds_header_count_and_value_size() {
        let mut map = HeaderMap::new();
        for i in 0..(MAX_HEADERS + 10) {
            let name = HeaderName::from_bytes(format!("x-h{i}").as_bytes()).unwrap();
            map.insert(name, HeaderValue::from_static("v"));
        }
        assert_eq!(capture_headers(&map).len(), MAX_HEADERS);

        let mut map = HeaderMap::new();
        let long = "a".repeat(MAX_HEADER_VALUE_BYTES + 1);
        map.insert("x-long", HeaderValue::from_str(&long).unwrap());
        map.insert("x-bin", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        let kept = capture_headers(&map);
        assert_eq!(kept[0].0, "x-long");
        assert_eq!(kept[0].1.len(), MAX_HEADER_VALUE_BYTES + '…'.len_utf8());
        assert!(kept[0].1.ends_with('…'));
        assert_eq!(kept[1], ("x-bin".to_owned(), "caf\u{FFFD}".to_owned()));
    }

    #[test]
    fn bounds_total_header_bytes() {
        let mut map = HeaderMap::new();
        let value = "b".repeat(MAX_HEADER_VALUE_BYTES);
        for i in 0..20 {
            let name = HeaderName::from_bytes(format!("x-{i:02}").as_bytes()).unwrap();
            map.insert(name, HeaderValue::from_str(&value).unwrap());
        }
        let kept = capture_headers(&map);
        let total: usize = kept.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(total <= MAX_HEADER_BYTES);
        assert_eq!(kept.len(), MAX_HEADER_BYTES / (4 + MAX_HEADER_VALUE_BYTES));
    }
}
