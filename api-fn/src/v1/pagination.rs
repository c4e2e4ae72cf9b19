//! Cursor pagination: `?limit=1..100&cursor=…`; a page carries `next_cursor` (null on the last
//! page). The cursor is an opaque token for the (timestamp, id) of the last item shown, so pages
//! stay stable while items are added.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::problem::Problem;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// The paging parameters of every list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

impl PageQuery {
    pub fn parse(&self) -> Result<PageRequest, Problem> {
        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(n @ 1..=MAX_LIMIT) => n,
            Some(n) => return Err(Problem::bad_request(format!("limit must be between 1 and {MAX_LIMIT}, not {n}"))),
        };
        let after = self.cursor.as_deref().map(decode_cursor).transpose()?;
        Ok(PageRequest { limit, after })
    }
}

pub fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", at.timestamp_micros(), id.simple()))
}

fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), Problem> {
    let invalid = || Problem::bad_request("the cursor is not one this API issued; pass next_cursor from the previous page unchanged");
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = std::str::from_utf8(&raw).map_err(|_| invalid())?;
    let (micros, id) = text.split_once(':').ok_or_else(invalid)?;
    let at = micros.parse::<i64>().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(invalid)?;
    let id = Uuid::try_parse(id).map_err(|_| invalid())?;
    Ok((at, id))
}

/// Splits a page fetched with `limit + 1` rows into the page and its `next_cursor`.
pub fn paginate<T>(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> (DateTime<Utc>, Uuid)) -> (Vec<T>, Option<String>) {
    let limit = limit as usize;
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(|r| {
            let (at, id) = key(r);
            encode_cursor(at, id)
        });
        (rows, next)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = DateTime::from_timestamp_micros(1_780_000_000_123_456).unwrap();
        let id = Uuid::now_v7();
        let q = PageQuery { limit: Some(5), cursor: Some(encode_cursor(at, id)) };
        assert_eq!(q.parse().unwrap(), PageRequest { limit: 5, after: Some((at, id)) });
        for bad in ["", "!!", "bm90IGEgY3Vyc29y", &URL_SAFE_NO_PAD.encode("12:not-a-uuid")] {
            let q = PageQuery { limit: None, cursor: Some(bad.to_owned()) };
            assert_eq!(q.parse().unwrap_err().status, 400, "{bad}");
        }
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(PageQuery::default().parse().unwrap().limit, DEFAULT_LIMIT);
        assert!(PageQuery { limit: Some(0), cursor: None }.parse().is_err());
        assert!(PageQuery { limit: Some(101), cursor: None }.parse().is_err());
    }

    #[test]
    fn paginate_sets_a_cursor_only_when_more_rows_exist() {
        let t = DateTime::from_timestamp(0, 0).unwrap();
        let rows: Vec<(DateTime<Utc>, Uuid)> = (0..3).map(|_| (t, Uuid::now_v7())).collect();
        let (page, next) = paginate(rows.clone(), 2, |r| *r);
        assert_eq!(page.len(), 2);
        assert_eq!(next, Some(encode_cursor(t, rows[1].1)));
        let (page, next) = paginate(rows, 3, |r| *r);
        assert_eq!((page.len(), next), (3, None));
    }
}
