//! Job validation, parse-don't-validate style: each field becomes a newtype that can only hold
//! a valid value, and [`validate`] turns a submitted [`JobDraft`] into a [`JobSpec`] or into
//! [`ValidationErrors`] listing *every* problem, each with a field path, a stable code and a
//! message.
//!
//! | field                    | type                | codes                                                        |
//! |--------------------------|---------------------|--------------------------------------------------------------|
//! | `name`                   | [`JobName`]         | `name_empty`, `name_too_long`, `name_control_chars`          |
//! | `key`                    | [`JobKey`]          | `key_empty`, `key_too_long`, `key_invalid_chars`             |
//! | `url`                    | [`TargetUrl`]       | `url_required`, `url_too_long`, `url_invalid`, `url_scheme`, `url_credentials`, `url_fragment` |
//! | `method`                 | [`HttpMethod`]      | `method_invalid`                                             |
//! | `headers[i].name/value`  | [`JobHeaders`]      | `headers_too_many`, `header_name_empty`, `header_name_too_long`, `header_name_invalid`, `header_name_forbidden`, `header_duplicate`, `header_value_too_long`, `header_value_invalid` |
//! | `body`                   | [`JobBody`]         | `body_too_large`, `body_not_allowed`                         |
//! | `timeout_secs`           | [`TimeoutSecs`]     | `timeout_zero`, `timeout_tier_limit`                         |
//! | `retry.*`                | [`RetryPolicy`]     | `retry_max_attempts`, `retry_base_delay`, `retry_max_delay`  |
//! | `catch_up.cap`           | [`CatchUp`]         | `catch_up_cap`, `catch_up_cap_unexpected`                    |
//! | `completion_window_secs` | [`CompletionWindow`]| `completion_window_range`                                    |
//! | `notifications…`         | [`JobAlerts`]       | `notifications_conflict`, `notifications_no_channels`, `notifications_too_many_channels`, `notifications_channel_id` |
//! | `schedule…`              | [`Schedule`](crate::schedule::Schedule) | `schedule_required`, `schedule_cron`, `schedule_timezone`, `schedule_preset`, `schedule_in_past`, `schedule_interval_below_tier` |
//!
//! [`RetryPolicy`]: crate::retry::RetryPolicy

mod alerts;
mod draft;
mod field_error;
mod fields;
mod headers;
mod run_policies;
mod target;

pub use alerts::{JobAlerts, JobAlertsError, JobAlertsInput, MAX_JOB_CHANNELS};
pub use draft::{JobDraft, JobSpec, ScheduleRuleError, restore, validate};
pub use field_error::{ErrorCode, FieldError, ValidationErrors};
pub use fields::{
    CompletionWindow, CompletionWindowError, JobBody, JobBodyError, JobKey, JobKeyError, JobName,
    JobNameError, TimeoutError, TimeoutSecs,
};
pub use headers::{HeaderError, HeaderInput, HeadersInput, JobHeaders, MASK_PREFIX, is_secret_header, mask, seal_secret_values, shown as shown_headers, shown_value, unmask};
pub use run_policies::{CatchUp, CatchUpCap, CatchUpError, CatchUpInput, CatchUpMode, Overlap};
pub use target::{HttpMethod, HttpMethodError, TargetUrl, TargetUrlError};
