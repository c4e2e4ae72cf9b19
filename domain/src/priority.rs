//! Dispatch priority: which due execution is claimed first when the system is busy.
//!
//! The rule (PRODUCT.md) is "Pro before Free, minute-interval crons before hourly/daily, then the
//! most overdue first". Only the first two parts are encoded in the number [`priority`] returns;
//! the third is the tie-break the claim query applies itself:
//!
//! ```sql
//! ORDER BY priority DESC, run_at ASC   -- highest band first, then the most overdue
//! ```
//!
//! so within one band the execution that was due longest ago goes first, and nothing is ever
//! starved inside its band. The number is stored on the execution row when it is created, which
//! keeps the claim a plain index scan.
//!
//! # Bands
//!
//! The tier sets the hundreds, the cadence the tens; every Pro value outranks every Free value:
//!
//! | cadence                                               | Free | Pro |
//! |-------------------------------------------------------|------|-----|
//! | one-time job, trigger-now, queued call (no interval)  | 40   | 140 |
//! | cron more often than hourly (interval < 60 min)       | 30   | 130 |
//! | hourly up to sub-daily (60 ≤ interval < 1440 min)     | 20   | 120 |
//! | daily or rarer (interval ≥ 1440 min)                  | 10   | 110 |
//!
//! # Where one-off calls sit, and why
//!
//! One-time jobs, "trigger now" and `POST /queue` calls carry no interval (`None`). They rank
//! *above* minute crons of the same tier:
//!
//! - A late cron run is corrected by the next occurrence; a one-off has no next occurrence, so
//!   every second it waits is lost precision in the only run it will ever get.
//! - On-demand calls usually have a caller waiting (a user clicked "trigger", an application
//!   enqueued work in a request path); crons are background by nature.
//! - They cannot crowd crons out indefinitely: each one is a single execution, metered by the
//!   monthly execution quota and the per-key API rate limit, whereas a minute cron produces a
//!   steady stream.
//!
//! Retries of an execution keep the priority stored on that execution.

use crate::tier::Tier;

/// Minutes in an hour and a day: the cadence band boundaries.
const HOUR_MINUTES: u32 = 60;
const DAY_MINUTES: u32 = 24 * 60;

/// Dispatch priority for an execution of a job on `tier` whose schedule fires every
/// `interval_minutes` (`None` for one-time jobs, manual triggers and queued calls).
/// Higher is dispatched first; see the module docs for the bands.
pub fn priority(tier: Tier, interval_minutes: Option<u32>) -> i16 {
    let tier_band: i16 = match tier {
        Tier::Pro => 100,
        Tier::Free => 0,
    };
    let cadence_band: i16 = match interval_minutes {
        None => 40,
        Some(m) if m < HOUR_MINUTES => 30,
        Some(m) if m < DAY_MINUTES => 20,
        Some(_) => 10,
    };
    tier_band + cadence_band
}

#[cfg(test)]
mod tests {
    use super::*;

    const CADENCES: [Option<u32>; 8] = [
        None,
        Some(1),
        Some(59),
        Some(60),
        Some(720),
        Some(1439),
        Some(1440),
        Some(43_200),
    ];

    #[test]
    fn every_pro_execution_outranks_every_free_execution() {
        for pro in CADENCES {
            for free in CADENCES {
                assert!(
                    priority(Tier::Pro, pro) > priority(Tier::Free, free),
                    "pro {pro:?} vs free {free:?}"
                );
            }
        }
    }

    #[test]
    fn minute_crons_outrank_hourly_which_outrank_daily() {
        for tier in Tier::ALL {
            assert!(priority(tier, Some(1)) > priority(tier, Some(60)));
            assert!(priority(tier, Some(60)) > priority(tier, Some(1440)));
            assert!(priority(tier, Some(5)) > priority(tier, Some(1439)));
        }
    }

    #[test]
    fn band_boundaries_fall_at_one_hour_and_one_day() {
        assert_eq!(
            priority(Tier::Free, Some(59)),
            priority(Tier::Free, Some(1))
        );
        assert!(priority(Tier::Free, Some(59)) > priority(Tier::Free, Some(60)));
        assert_eq!(
            priority(Tier::Free, Some(60)),
            priority(Tier::Free, Some(1439))
        );
        assert!(priority(Tier::Free, Some(1439)) > priority(Tier::Free, Some(1440)));
        assert_eq!(
            priority(Tier::Free, Some(1440)),
            priority(Tier::Free, Some(u32::MAX))
        );
    }

    #[test]
    fn one_off_calls_outrank_every_cron_of_the_same_tier() {
        for tier in Tier::ALL {
            for cadence in CADENCES.iter().skip(1) {
                assert!(priority(tier, None) > priority(tier, *cadence));
            }
        }
    }

    #[test]
    fn priority_never_goes_negative() {
        for tier in Tier::ALL {
            for cadence in CADENCES {
                assert!(priority(tier, cadence) > 0);
            }
        }
    }
}
