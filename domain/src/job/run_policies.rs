//! What a cron job does about runs missed during downtime or a pause ([`CatchUp`]) and about a
//! run that comes due while the previous one is still going ([`Overlap`]).
//!
//! Wire forms:
//!
//! ```json
//! "catch_up": {"mode": "run_once"}                 // default
//! "catch_up": {"mode": "run_all", "cap": 10}       // cap 1..=100, default 10
//! "catch_up": {"mode": "skip"}
//! "overlap": "allow"                               // default; or "skip"
//! ```

use serde::{Deserialize, Serialize};

use super::field_error::ErrorCode;

/// Missed-run policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "CatchUpInput", into = "CatchUpInput")]
pub enum CatchUp {
    /// Run once for all missed occurrences together, then continue on schedule.
    #[default]
    RunOnce,
    /// Run every missed occurrence, oldest first, but at most `cap` of them (the most recent).
    RunAll { cap: CatchUpCap },
    /// Drop missed occurrences; continue with the next one on schedule.
    Skip,
}

/// How many missed runs [`CatchUp::RunAll`] replays at most: 1 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CatchUpCap(u16);

impl CatchUpCap {
    pub const MAX: u16 = 100;
    pub const DEFAULT: CatchUpCap = CatchUpCap(10);

    pub fn new(cap: u16) -> Result<Self, CatchUpError> {
        if (1..=Self::MAX).contains(&cap) {
            Ok(CatchUpCap(cap))
        } else {
            Err(CatchUpError::CapRange { cap })
        }
    }

    pub const fn get(self) -> u16 {
        self.0
    }
}

/// The unvalidated wire form of [`CatchUp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatchUpInput {
    pub mode: CatchUpMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUpMode {
    RunOnce,
    RunAll,
    Skip,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatchUpError {
    #[error("cap is {cap}; run_all replays between 1 and {max} missed runs", max = CatchUpCap::MAX)]
    CapRange { cap: u16 },
    #[error("cap only applies to the run_all mode; remove it or use \"mode\": \"run_all\"")]
    CapWithoutRunAll,
}

impl ErrorCode for CatchUpError {
    fn code(&self) -> &'static str {
        match self {
            CatchUpError::CapRange { .. } => "catch_up_cap",
            CatchUpError::CapWithoutRunAll => "catch_up_cap_unexpected",
        }
    }
}

impl TryFrom<CatchUpInput> for CatchUp {
    type Error = CatchUpError;

    fn try_from(input: CatchUpInput) -> Result<Self, Self::Error> {
        match (input.mode, input.cap) {
            (CatchUpMode::RunAll, cap) => Ok(CatchUp::RunAll {
                cap: cap.map_or(Ok(CatchUpCap::DEFAULT), CatchUpCap::new)?,
            }),
            (_, Some(_)) => Err(CatchUpError::CapWithoutRunAll),
            (CatchUpMode::RunOnce, None) => Ok(CatchUp::RunOnce),
            (CatchUpMode::Skip, None) => Ok(CatchUp::Skip),
        }
    }
}

impl From<CatchUp> for CatchUpInput {
    fn from(c: CatchUp) -> Self {
        match c {
            CatchUp::RunOnce => CatchUpInput {
                mode: CatchUpMode::RunOnce,
                cap: None,
            },
            CatchUp::RunAll { cap } => CatchUpInput {
                mode: CatchUpMode::RunAll,
                cap: Some(cap.get()),
            },
            CatchUp::Skip => CatchUpInput {
                mode: CatchUpMode::Skip,
                cap: None,
            },
        }
    }
}

impl CatchUp {
    /// How many of `missed` overdue occurrences to run now.
    pub fn runs_for(self, missed: usize) -> usize {
        match self {
            CatchUp::RunOnce => missed.min(1),
            CatchUp::RunAll { cap } => missed.min(usize::from(cap.get())),
            CatchUp::Skip => 0,
        }
    }
}

/// Overlap policy: what to do when a run comes due while the previous one is still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// Start the new run anyway.
    #[default]
    Allow,
    /// Record the new run as skipped.
    Skip,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<CatchUp, String> {
        serde_json::from_str::<CatchUp>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        assert_eq!(CatchUp::default(), CatchUp::RunOnce);
        assert_eq!(Overlap::default(), Overlap::Allow);
        assert_eq!(
            parse(r#"{"mode":"run_all"}"#),
            Ok(CatchUp::RunAll {
                cap: CatchUpCap::DEFAULT
            })
        );
        assert_eq!(CatchUpCap::DEFAULT.get(), 10);
    }

    #[test]
    fn catch_up_wire_forms_round_trip() {
        for json in [
            r#"{"mode":"run_once"}"#,
            r#"{"mode":"run_all","cap":25}"#,
            r#"{"mode":"skip"}"#,
        ] {
            let parsed = parse(json).unwrap();
            assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
        }
    }

    #[test]
    fn cap_out_of_range() {
        for cap in [0u16, 101] {
            let input = CatchUpInput {
                mode: CatchUpMode::RunAll,
                cap: Some(cap),
            };
            let err = CatchUp::try_from(input).unwrap_err();
            assert_eq!(err.code(), "catch_up_cap");
        }
        assert!(CatchUpCap::new(100).is_ok());
        assert!(
            parse(r#"{"mode":"run_all","cap":101}"#)
                .unwrap_err()
                .contains("between 1 and 100")
        );
    }

    #[test]
    fn cap_without_run_all() {
        let input = CatchUpInput {
            mode: CatchUpMode::Skip,
            cap: Some(5),
        };
        assert_eq!(
            CatchUp::try_from(input).unwrap_err().code(),
            "catch_up_cap_unexpected"
        );
    }

    #[test]
    fn unknown_modes_and_fields_are_rejected() {
        assert!(parse(r#"{"mode":"all"}"#).is_err());
        assert!(parse(r#"{"mode":"skip","extra":1}"#).is_err());
        assert!(parse(r#""skip""#).is_err());
    }

    #[test]
    fn runs_for_applies_the_policy() {
        let all = CatchUp::RunAll {
            cap: CatchUpCap::new(3).unwrap(),
        };
        assert_eq!(
            [CatchUp::RunOnce.runs_for(0), CatchUp::RunOnce.runs_for(7)],
            [0, 1]
        );
        assert_eq!([all.runs_for(2), all.runs_for(7)], [2, 3]);
        assert_eq!(CatchUp::Skip.runs_for(7), 0);
    }

    #[test]
    fn overlap_serde() {
        assert_eq!(serde_json::to_string(&Overlap::Skip).unwrap(), "\"skip\"");
        assert_eq!(
            serde_json::from_str::<Overlap>("\"allow\"").unwrap(),
            Overlap::Allow
        );
        assert!(serde_json::from_str::<Overlap>("\"queue\"").is_err());
    }
}
