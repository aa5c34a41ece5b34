//! Moments written by operators: TOML date-times with or without an offset, or the same
//! as strings. A time without an offset is local time in the site's time zone.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use toml::de::DeValue;
use toml::value::Offset;

const LOCAL_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
];

/// A moment from a TOML value.
pub fn instant(v: &DeValue<'_>, tz: Tz) -> Result<DateTime<Utc>, String> {
    match v {
        DeValue::Datetime(dt) => {
            let (Some(date), Some(time)) = (dt.date, dt.time) else {
                return Err(format!(
                    "{dt} is not a full date and time (write it like 2026-11-22T10:04:00+01:00, or 2026-11-22T10:04:00 for {tz} time)"
                ));
            };
            let naive = NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            )
            .and_then(|d| {
                d.and_hms_nano_opt(
                    u32::from(time.hour),
                    u32::from(time.minute),
                    u32::from(time.second.unwrap_or(0)),
                    time.nanosecond.unwrap_or(0),
                )
            })
            .ok_or_else(|| format!("{dt} is not a valid date and time"))?;
            match dt.offset {
                Some(Offset::Z) => Ok(Utc.from_utc_datetime(&naive)),
                Some(Offset::Custom { minutes }) => {
                    let offset = chrono::FixedOffset::east_opt(i32::from(minutes) * 60)
                        .ok_or_else(|| format!("{dt} has an impossible offset"))?;
                    local(&offset, naive).map(|d| d.with_timezone(&Utc))
                }
                None => local(&tz, naive).map(|d| d.with_timezone(&Utc)),
            }
        }
        DeValue::String(s) => parse(s, tz),
        other => Err(format!(
            "expected a date and time, found {}",
            super::super::reader::type_name(other)
        )),
    }
}

/// A moment from text: RFC 3339, or `2026-11-22 10:04` in the site's time zone.
pub fn parse(text: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    for f in LOCAL_FORMATS {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, f) {
            return local(&tz, naive).map(|d| d.with_timezone(&Utc));
        }
    }
    Err(format!(
        "\"{text}\" is not a date and time (write 2026-11-22T10:04:00+01:00, or 2026-11-22 10:04 for {tz} time)"
    ))
}

fn local<Z: TimeZone>(zone: &Z, naive: NaiveDateTime) -> Result<DateTime<Z>, String>
where
    Z::Offset: std::fmt::Display,
{
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(d) => Ok(d),
        // When clocks go back an hour repeats: take its first occurrence.
        LocalResult::Ambiguous(first, _) => Ok(first),
        LocalResult::None => Err(format!(
            "{naive} does not exist in this time zone (the clocks skip it); give an offset"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_with_and_without_offsets() {
        let paris = chrono_tz::Europe::Paris;
        let utc = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            parse("2026-11-22T10:04:00+01:00", paris),
            Ok(utc("2026-11-22T09:04:00Z"))
        );
        assert_eq!(
            parse("2026-11-22 10:04", paris),
            Ok(utc("2026-11-22T09:04:00Z"))
        );
        assert_eq!(
            parse("2026-07-01T10:00:00", paris),
            Ok(utc("2026-07-01T08:00:00Z")),
            "summer time"
        );
        assert!(
            parse("2026-03-29 02:30", paris)
                .unwrap_err()
                .contains("does not exist")
        );
        assert!(
            parse("tomorrow", paris)
                .unwrap_err()
                .contains("is not a date and time")
        );
    }
}
