//! When to read a vendor's page next: at its `every` while all is well; after a
//! failure, twice as late each time (up to half an hour); and never sooner than the
//! vendor's own `Retry-After` (up to an hour). Pure.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::PageError;

/// The longest wait after failures of our own counting.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);
/// The longest a vendor's `Retry-After` is honoured for.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// A `Retry-After` value: seconds, or an HTTP date.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// How long to wait before the next read, after `failures` failed reads in a row
/// (0: the last read worked) of which `last` is the latest.
pub fn next_wait(every: Duration, failures: u32, last: Option<&PageError>) -> Duration {
    if failures == 0 {
        return every;
    }
    let doubled = every
        .checked_mul(1u32 << failures.saturating_sub(1).min(16))
        .unwrap_or(MAX_BACKOFF);
    let backoff = doubled.min(MAX_BACKOFF.max(every));
    match last {
        Some(PageError::Busy {
            retry_after: Some(asked),
            ..
        }) => backoff.max((*asked).min(MAX_RETRY_AFTER)),
        _ => backoff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn waits_double_after_failures_up_to_half_an_hour() {
        let e = PageError::Unreachable("down".into());
        assert_eq!(next_wait(2 * MIN, 0, None), 2 * MIN);
        assert_eq!(next_wait(2 * MIN, 1, Some(&e)), 2 * MIN);
        assert_eq!(next_wait(2 * MIN, 2, Some(&e)), 4 * MIN);
        assert_eq!(next_wait(2 * MIN, 3, Some(&e)), 8 * MIN);
        assert_eq!(next_wait(2 * MIN, 40, Some(&e)), 30 * MIN);
        assert_eq!(
            next_wait(24 * 60 * MIN, 3, Some(&e)),
            24 * 60 * MIN,
            "never more often than asked"
        );
    }

    #[test]
    fn the_vendors_retry_after_is_honoured_within_an_hour() {
        let busy = |s| PageError::Busy {
            status: 429,
            retry_after: Some(Duration::from_secs(s)),
        };
        assert_eq!(next_wait(MIN, 1, Some(&busy(600))), 10 * MIN);
        assert_eq!(
            next_wait(MIN, 1, Some(&busy(5))),
            MIN,
            "never sooner than every"
        );
        assert_eq!(next_wait(MIN, 1, Some(&busy(86_400))), 60 * MIN);
        let now: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Sat, 28 Nov 2026 10:05:00 GMT", now),
            Some(5 * MIN)
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
