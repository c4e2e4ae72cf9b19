//! Asking Cloudflare's rate-limiting binding whether a client may proceed, with the in-isolate
//! fixed-window counter as a fallback when the binding is missing or fails.

use std::cell::RefCell;

use worker::{Env, console_error};

use crate::rate_limit::{Bucket, Decision, FixedWindows, retry_after_secs};

/// Clients one isolate tracks per bucket and window in the fallback.
const FALLBACK_MAX_CLIENTS: usize = 10_000;

thread_local! {
    static FALLBACK: RefCell<Vec<FixedWindows>> = RefCell::new(
        Bucket::ALL.iter().map(|bucket| FixedWindows::new(bucket.rule(), FALLBACK_MAX_CLIENTS)).collect()
    );
}

fn fallback(bucket: Bucket, client: &str, now_ms: u64) -> Decision {
    let index = Bucket::ALL.iter().position(|b| *b == bucket).unwrap_or(0);
    FALLBACK.with(|windows| windows.borrow_mut()[index].check(client, now_ms))
}

/// Counts one request from `client` in `bucket`.
pub async fn check(env: &Env, bucket: Bucket, client: &str, now_ms: u64) -> Decision {
    let limiter = match env.rate_limiter(bucket.binding()) {
        Ok(limiter) => limiter,
        Err(error) => {
            console_error!(
                "edge: rate-limit binding {} unavailable ({error}); counting in this isolate",
                bucket.binding()
            );
            return fallback(bucket, client, now_ms);
        }
    };
    match limiter.limit(client.to_owned()).await {
        Ok(outcome) if outcome.success => Decision::Allow,
        Ok(_) => Decision::Limit {
            retry_after_secs: retry_after_secs(now_ms, bucket.rule().period_secs),
        },
        Err(error) => {
            console_error!(
                "edge: rate-limit binding {} failed ({error}); counting in this isolate",
                bucket.binding()
            );
            fallback(bucket, client, now_ms)
        }
    }
}
