//! What every fuzz target shares: the case count, failure persistence, the per-case time guard,
//! and generators of adversarial text.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

/// Cases per property when `PRIKKE_FUZZ_CASES` is not set: sized so the whole fuzz set takes
/// about a minute in a debug build under `cargo nextest run --workspace` (see README "Test it").
pub const DEFAULT_CASES: u32 = 10_000;

/// Cases per property: `PRIKKE_FUZZ_CASES`, else [`DEFAULT_CASES`] scaled by `weight` (some
/// properties are much dearer per case than others).
pub fn cases(weight: f64) -> u32 {
    let base = std::env::var("PRIKKE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(DEFAULT_CASES);
    ((f64::from(base) * weight).ceil() as u32).max(1)
}

/// A proptest configuration for one target: `cases`, and failures written to (and replayed
/// from) `tests/fuzz/regressions/<target>.txt`, which is committed.
pub fn config(target: &'static str, weight: f64) -> Config {
    // the paths are relative to the package root, where cargo and nextest run tests
    let path: &'static str = Box::leak(format!("tests/fuzz/regressions/{target}.txt").into_boxed_str());
    Config {
        cases: cases(weight),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
        // shrinking a slow case must not run for ever
        max_shrink_time: 60_000,
        ..Config::default()
    }
}

/// Longest a single call may take before the case fails as "never finishes": generous, since
/// CI builds are unoptimised and share two cores. `PRIKKE_FUZZ_CASE_MS` overrides it.
pub fn case_limit() -> Duration {
    let ms = std::env::var("PRIKKE_FUZZ_CASE_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(2_000);
    Duration::from_millis(ms)
}

/// Runs `f` on its own thread and returns its result, failing the case when it has not finished
/// within [`case_limit`] (a loop that never ends is reported, not waited for: the thread is left
/// behind). A panic inside `f` fails the case with its message.
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> Result<T, TestCaseError> {
    let limit = case_limit();
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            let _ = handle.join();
            Ok(value)
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(TestCaseError::fail(format!(
            "{what} did not finish within {limit:?}"
        ))),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let message = match handle.join() {
                Err(panic) => panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "a panic".to_owned()),
                Ok(()) => "no result".to_owned(),
            };
            Err(TestCaseError::fail(format!(
                "{what} panicked after {:?}: {message}",
                started.elapsed()
            )))
        }
    }
}

/// The lines of a seed corpus file under `tests/fuzz/corpus/`, skipping blank lines and `#`
/// comments; `\t`, `\r`, `\n`, `\0` and `\u{…}` escapes are decoded so that control characters
/// can be written down.
pub fn corpus(name: &str) -> Vec<String> {
    let path = Path::new("tests/fuzz/corpus").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(unescape)
        .collect();
    assert!(!lines.is_empty(), "{}: empty corpus", path.display());
    lines
}

fn unescape(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('0') => out.push('\0'),
            Some('s') => out.push(' '),
            Some('\\') => out.push('\\'),
            Some('u') => {
                let hex: String = chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                out.push(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).unwrap_or('\u{fffd}'));
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Characters that break parsers: controls, separators of every kind, look-alike digits,
/// combining marks, surrogate-adjacent and non-BMP characters.
pub fn nasty_char() -> impl Strategy<Value = char> {
    prop_oneof![
        Just('\0'),
        Just('\r'),
        Just('\n'),
        Just('\t'),
        Just('\u{b}'),
        Just('\u{c}'),
        Just('\u{1}'),
        Just('\u{7f}'),
        Just('\u{85}'),
        Just('\u{a0}'),
        Just('\u{2003}'),
        Just('\u{2028}'),
        Just('\u{3000}'),
        Just('\u{feff}'),
        Just('\u{200b}'),
        Just('\u{ff15}'), // fullwidth 5
        Just('\u{663}'),  // arabic-indic 3
        Just('\u{301}'),  // combining acute
        Just('\u{1f600}'),
        Just('\u{10ffff}'),
        Just('ı'),
        Just('ſ'),
        any::<char>(),
    ]
}

/// Text mixing printable ASCII with [`nasty_char`]s.
pub fn nasty_string(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![3 => proptest::char::range(' ', '~'), 1 => nasty_char()], 0..=max)
        .prop_map(|chars| chars.into_iter().collect())
}
