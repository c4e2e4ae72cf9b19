//! Scalar job fields: name, sync key, body, timeout and completion window.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use super::field_error::ErrorCode;
use crate::tier::Tier;

/// Implements `Deserialize` through a fallible constructor, so stored or submitted values are
/// validated the same way.
macro_rules! deserialize_via {
    ($ty:ty, $raw:ty, $parse:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <$raw>::deserialize(d)?;
                $parse(raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A job's display name: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct JobName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobNameError {
    #[error("a name is required")]
    Empty,
    #[error("the name is {len} characters long; at most {max} are allowed", max = JobName::MAX_CHARS)]
    TooLong { len: usize },
    #[error("the name contains a control character (such as a line break or tab)")]
    ControlCharacter,
}

impl ErrorCode for JobNameError {
    fn code(&self) -> &'static str {
        match self {
            JobNameError::Empty => "name_empty",
            JobNameError::TooLong { .. } => "name_too_long",
            JobNameError::ControlCharacter => "name_control_chars",
        }
    }
}

impl JobName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(input: &str) -> Result<Self, JobNameError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(JobNameError::Empty);
        }
        let len = name.chars().count();
        if len > Self::MAX_CHARS {
            return Err(JobNameError::TooLong { len });
        }
        if name.chars().any(char::is_control) {
            return Err(JobNameError::ControlCharacter);
        }
        Ok(JobName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

deserialize_via!(JobName, String, |s: String| JobName::parse(&s));

/// The client-chosen key that identifies a job in declarative sync: 1 to 128 characters of
/// `A-Z a-z 0-9 . _ -`, case-sensitive, never trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct JobKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobKeyError {
    #[error("the key is empty; leave it out or give 1 to {max} characters", max = JobKey::MAX_CHARS)]
    Empty,
    #[error("the key is {len} characters long; at most {max} are allowed", max = JobKey::MAX_CHARS)]
    TooLong { len: usize },
    #[error("the key may only contain letters, digits, '.', '_' and '-'")]
    InvalidCharacters,
}

impl ErrorCode for JobKeyError {
    fn code(&self) -> &'static str {
        match self {
            JobKeyError::Empty => "key_empty",
            JobKeyError::TooLong { .. } => "key_too_long",
            JobKeyError::InvalidCharacters => "key_invalid_chars",
        }
    }
}

impl JobKey {
    pub const MAX_CHARS: usize = 128;

    pub fn parse(input: &str) -> Result<Self, JobKeyError> {
        if input.is_empty() {
            return Err(JobKeyError::Empty);
        }
        let len = input.chars().count();
        if len > Self::MAX_CHARS {
            return Err(JobKeyError::TooLong { len });
        }
        if !input
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(JobKeyError::InvalidCharacters);
        }
        Ok(JobKey(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

deserialize_via!(JobKey, String, |s: String| JobKey::parse(&s));

/// A request body of at most 256 KiB, sent verbatim.
///
/// GET and HEAD jobs may not have one (checked where the method is known, in
/// [`super::validate`]): RFC 9110 gives content in a GET no meaning, and proxies, CDNs and
/// frameworks variously drop it or reject the request, so a configured body would often never
/// arrive — better to say so up front. An empty string means "no body".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct JobBody(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobBodyError {
    #[error("the body is {len} bytes; at most {max} bytes (256 KiB) are allowed", max = JobBody::MAX_BYTES)]
    TooLarge { len: usize },
    #[error(
        "{method} requests cannot carry a body; use POST, PUT, PATCH or DELETE, or remove the body"
    )]
    NotAllowed { method: &'static str },
}

impl ErrorCode for JobBodyError {
    fn code(&self) -> &'static str {
        match self {
            JobBodyError::TooLarge { .. } => "body_too_large",
            JobBodyError::NotAllowed { .. } => "body_not_allowed",
        }
    }
}

impl JobBody {
    pub const MAX_BYTES: usize = 256 * 1024;

    /// `Ok(None)` for an empty body.
    pub fn parse(input: &str) -> Result<Option<Self>, JobBodyError> {
        if input.is_empty() {
            return Ok(None);
        }
        if input.len() > Self::MAX_BYTES {
            return Err(JobBodyError::TooLarge { len: input.len() });
        }
        Ok(Some(JobBody(input.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl<'de> Deserialize<'de> for JobBody {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        match JobBody::parse(&raw) {
            Ok(Some(body)) => Ok(body),
            Ok(None) => Err(serde::de::Error::custom(
                "an empty body is written by leaving the body out",
            )),
            Err(e) => Err(serde::de::Error::custom(e)),
        }
    }
}

/// Per-request timeout in whole seconds: from 1 up to the tier's maximum (default 30).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TimeoutSecs(u16);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeoutError {
    #[error("the timeout must be at least 1 second")]
    Zero,
    #[error("{}", above_tier_message(*secs, *tier))]
    AboveTierMax { secs: u32, tier: Tier },
}

fn above_tier_message(secs: u32, tier: Tier) -> String {
    let max = tier.limits().max_timeout_secs;
    match tier {
        Tier::Free => format!(
            "the timeout is {secs} seconds; the Free plan allows at most {max} (Pro allows up to {})",
            Tier::Pro.limits().max_timeout_secs
        ),
        Tier::Pro => format!("the timeout is {secs} seconds; at most {max} are allowed"),
    }
}

impl ErrorCode for TimeoutError {
    fn code(&self) -> &'static str {
        match self {
            TimeoutError::Zero => "timeout_zero",
            TimeoutError::AboveTierMax { .. } => "timeout_tier_limit",
        }
    }
}

impl TimeoutSecs {
    pub const DEFAULT: TimeoutSecs = TimeoutSecs(30);

    pub fn new(secs: u32, tier: Tier) -> Result<Self, TimeoutError> {
        if secs == 0 {
            return Err(TimeoutError::Zero);
        }
        if secs > tier.limits().max_timeout_secs {
            return Err(TimeoutError::AboveTierMax { secs, tier });
        }
        // Every tier's maximum fits in u16 (checked by a test).
        u16::try_from(secs)
            .map(TimeoutSecs)
            .map_err(|_| TimeoutError::AboveTierMax { secs, tier })
    }

    pub const fn secs(self) -> u16 {
        self.0
    }

    pub const fn as_duration(self) -> Duration {
        Duration::from_secs(self.0 as u64)
    }
}

impl Default for TimeoutSecs {
    fn default() -> Self {
        Self::DEFAULT
    }
}

// Stored values are checked against the most generous tier: a job created on Pro stays
// readable after a downgrade (the dispatcher clamps at run time).
deserialize_via!(TimeoutSecs, u32, |s: u32| TimeoutSecs::new(s, Tier::Pro));

/// How long after a run starts the job's endpoint has to ping back before the execution fails:
/// 10 seconds to 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CompletionWindow(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the completion window is {secs} seconds; it must be between {min} seconds and {max} seconds (24 hours)", min = CompletionWindow::MIN_SECS, max = CompletionWindow::MAX_SECS)]
pub struct CompletionWindowError {
    pub secs: u32,
}

impl ErrorCode for CompletionWindowError {
    fn code(&self) -> &'static str {
        "completion_window_range"
    }
}

impl CompletionWindow {
    pub const MIN_SECS: u32 = 10;
    pub const MAX_SECS: u32 = 24 * 60 * 60;

    pub fn from_secs(secs: u32) -> Result<Self, CompletionWindowError> {
        if (Self::MIN_SECS..=Self::MAX_SECS).contains(&secs) {
            Ok(CompletionWindow(secs))
        } else {
            Err(CompletionWindowError { secs })
        }
    }

    pub const fn secs(self) -> u32 {
        self.0
    }

    pub const fn as_duration(self) -> Duration {
        Duration::from_secs(self.0 as u64)
    }
}

deserialize_via!(CompletionWindow, u32, CompletionWindow::from_secs);

#[cfg(test)]
#[path = "fields_tests.rs"]
mod tests;
