//! Dates, times and intervals in PostgreSQL's binary form (counts since 2000-01-01), formatted
//! as ISO 8601 / RFC 3339 text.
//!
//! Formats (documented in the crate docs too):
//! - date `YYYY-MM-DD`; timestamp `YYYY-MM-DDTHH:MM:SS[.ffffff]`; timestamptz the same in UTC with
//!   `Z`. The fraction has exactly six digits and appears only when it is nonzero.
//! - Years outside 0000–9999 use ISO 8601 expanded form (`+10000`, `-0001`); the year before 1
//!   AD is `0000` (astronomical numbering, as chrono and ISO 8601 do; PostgreSQL prints `1 BC`).
//! - `infinity` / `-infinity` stay those words.
//! - interval: ISO 8601 as PostgreSQL's `IntervalStyle = iso_8601` prints it (`P1Y2M3DT4H5M6.5S`,
//!   `PT0S`, components may be negative).
//! - timetz: the time, then the UTC offset as `+HH:MM` (`:SS` when the offset has seconds).
//!
//! Inside values printed as PostgreSQL text (ranges, records), the `pg_*` functions print dates
//! and times exactly as PostgreSQL does with `DateStyle = ISO` and `TimeZone = UTC`: a space
//! before the time, fractions without trailing zeros, `+00`, and ` BC` for years before 1 AD.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_DAYS: i64 = 10_957;
const USECS_PER_DAY: i64 = 86_400_000_000;

/// (year, month, day) of a day count since 1970-01-01 in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm; exact for the whole i64 range PostgreSQL can produce).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are in range by construction (1..=31, 1..=12).
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

fn push_date(out: &mut String, days_since_1970: i64) {
    let (y, m, d) = civil_from_days(days_since_1970);
    let _ = match y {
        0..=9999 => write!(out, "{y:04}-{m:02}-{d:02}"),
        10000.. => write!(out, "+{y}-{m:02}-{d:02}"),
        _ => write!(out, "-{:04}-{m:02}-{d:02}", y.unsigned_abs()),
    };
}

fn push_time(out: &mut String, usecs: i64) {
    let secs = usecs / 1_000_000;
    let frac = usecs % 1_000_000;
    let _ = write!(out, "{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        let _ = write!(out, ".{frac:06}");
    }
}

/// The fraction of a second PostgreSQL prints: up to six digits, trailing zeros dropped.
fn push_pg_fraction(out: &mut String, usecs: i64) {
    let frac = usecs.rem_euclid(1_000_000);
    if frac != 0 {
        let digits = format!("{frac:06}");
        let _ = write!(out, ".{}", digits.trim_end_matches('0'));
    }
}

/// PostgreSQL's own text for a date (days since 1970-01-01): the year as a positive number
/// with ` BC` after the whole value for years before 1 AD, which `bc` reports.
fn push_pg_date(out: &mut String, days_since_1970: i64) -> bool {
    let (y, m, d) = civil_from_days(days_since_1970);
    let bc = y <= 0;
    let year = if bc { 1 - y } else { y };
    let _ = write!(out, "{year:04}-{m:02}-{d:02}");
    bc
}

/// A time of day as PostgreSQL prints it (`13:45:59.5`).
fn push_pg_time(out: &mut String, usecs: i64) {
    let secs = usecs / 1_000_000;
    let _ = write!(out, "{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    push_pg_fraction(out, usecs);
}

/// A UTC offset (`zone` in seconds *west* of UTC, as PostgreSQL stores it) as PostgreSQL prints
/// it: `+02`, `-03:30`, `+00:00:15`.
fn push_pg_zone(out: &mut String, zone: i32) {
    let abs = zone.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    out.push(if zone <= 0 { '+' } else { '-' });
    let _ = if s != 0 {
        write!(out, "{h:02}:{m:02}:{s:02}")
    } else if m != 0 {
        write!(out, "{h:02}:{m:02}")
    } else {
        write!(out, "{h:02}")
    };
}

/// `date` as PostgreSQL prints it.
pub(crate) fn pg_date(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        _ => {
            let mut out = String::with_capacity(13);
            if push_pg_date(&mut out, i64::from(days) + PG_EPOCH_DAYS) {
                out.push_str(" BC");
            }
            out
        }
    }
}

/// `time` as PostgreSQL prints it.
pub(crate) fn pg_time(usecs: i64) -> String {
    let mut out = String::with_capacity(15);
    push_pg_time(&mut out, usecs);
    out
}

/// `timetz` as PostgreSQL prints it (`13:45:59.5+02`).
pub(crate) fn pg_timetz(usecs: i64, zone: i32) -> String {
    let mut out = pg_time(usecs);
    push_pg_zone(&mut out, zone);
    out
}

/// `timetz` in Sluice's JSON form: [`format_time`] then `+HH:MM[:SS]`.
pub(crate) fn format_timetz(usecs: i64, zone: i32) -> String {
    let mut out = format_time(usecs);
    let abs = zone.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    out.push(if zone <= 0 { '+' } else { '-' });
    let _ = write!(out, "{h:02}:{m:02}");
    if s != 0 {
        let _ = write!(out, ":{s:02}");
    }
    out
}

/// `timestamp` / `timestamptz` as PostgreSQL prints them in UTC (`2024-01-02 03:04:05.5+00`).
pub(crate) fn pg_timestamp(usecs: i64, utc: bool) -> String {
    match usecs {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        _ => {
            let mut out = String::with_capacity(32);
            let bc = push_pg_date(&mut out, usecs.div_euclid(USECS_PER_DAY) + PG_EPOCH_DAYS);
            out.push(' ');
            push_pg_time(&mut out, usecs.rem_euclid(USECS_PER_DAY));
            if utc {
                out.push_str("+00");
            }
            if bc {
                out.push_str(" BC");
            }
            out
        }
    }
}

/// A `date` value (days since 2000-01-01).
pub(crate) fn format_date(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        _ => {
            let mut out = String::with_capacity(10);
            push_date(&mut out, i64::from(days) + PG_EPOCH_DAYS);
            out
        }
    }
}

/// A `time` value (microseconds since midnight; PostgreSQL allows `24:00:00`).
pub(crate) fn format_time(usecs: i64) -> String {
    let mut out = String::with_capacity(15);
    push_time(&mut out, usecs);
    out
}

/// A `timestamp` / `timestamptz` value (microseconds since 2000-01-01 00:00:00 [UTC]).
pub(crate) fn format_timestamp(usecs: i64, utc: bool) -> String {
    match usecs {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        _ => {
            let mut out = String::with_capacity(28);
            push_date(&mut out, usecs.div_euclid(USECS_PER_DAY) + PG_EPOCH_DAYS);
            out.push('T');
            push_time(&mut out, usecs.rem_euclid(USECS_PER_DAY));
            if utc {
                out.push('Z');
            }
            out
        }
    }
}

/// An `interval` (months, days, microseconds kept apart, as PostgreSQL does) in the exact form
/// PostgreSQL prints with `IntervalStyle = iso_8601`.
pub(crate) fn format_interval(months: i32, days: i32, usecs: i64) -> String {
    if months == 0 && days == 0 && usecs == 0 {
        return "PT0S".into();
    }
    let mut out = String::from("P");
    let (years, months) = (months / 12, months % 12);
    for (n, unit) in [(i64::from(years), 'Y'), (i64::from(months), 'M'), (i64::from(days), 'D')] {
        if n != 0 {
            let _ = write!(out, "{n}{unit}");
        }
    }
    if usecs != 0 {
        out.push('T');
        let hours = usecs / 3_600_000_000;
        let minutes = usecs / 60_000_000 % 60;
        let secs = usecs % 60_000_000;
        for (n, unit) in [(hours, 'H'), (minutes, 'M')] {
            if n != 0 {
                let _ = write!(out, "{n}{unit}");
            }
        }
        if secs != 0 {
            if secs < 0 {
                out.push('-');
            }
            let abs = secs.unsigned_abs();
            let _ = write!(out, "{}", abs / 1_000_000);
            let frac = abs % 1_000_000;
            if frac != 0 {
                let digits = format!("{frac:06}");
                let _ = write!(out, ".{}", digits.trim_end_matches('0'));
            }
            out.push('S');
        }
    }
    out
}

fn pg_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default().and_time(NaiveTime::MIN)
}

fn micros_of(time: NaiveTime) -> Result<i64, String> {
    if !time.nanosecond().is_multiple_of(1000) {
        return Err("PostgreSQL keeps microseconds; more precision would be silently rounded".into());
    }
    if time.nanosecond() >= 1_000_000_000 {
        return Err("leap seconds are not supported".into());
    }
    Ok(i64::from(time.num_seconds_from_midnight()) * 1_000_000 + i64::from(time.nanosecond() / 1000))
}

/// Parses a `date` parameter (`YYYY-MM-DD`, `infinity`, `-infinity`) into days since 2000-01-01.
pub(crate) fn parse_date(s: &str) -> Result<i32, String> {
    match s {
        "infinity" => return Ok(i32::MAX),
        "-infinity" => return Ok(i32::MIN),
        _ => {}
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| format!("expected a date as YYYY-MM-DD: {e}"))?;
    let days = date.signed_duration_since(pg_epoch().date()).num_days();
    i32::try_from(days).map_err(|_| "date out of range".into())
}

/// Parses a `time` parameter (`HH:MM:SS[.ffffff]`) into microseconds since midnight.
pub(crate) fn parse_time(s: &str) -> Result<i64, String> {
    let time = NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
        .map_err(|e| format!("expected a time as HH:MM:SS[.ffffff]: {e}"))?;
    micros_of(time)
}

fn parse_naive(s: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
        .map_err(|e| format!("expected a timestamp as YYYY-MM-DDTHH:MM:SS[.ffffff]: {e}"))
}

fn micros_since_epoch(dt: NaiveDateTime) -> Result<i64, String> {
    let days = dt.date().signed_duration_since(pg_epoch().date()).num_days();
    let time = micros_of(dt.time())?;
    days.checked_mul(USECS_PER_DAY)
        .and_then(|d| d.checked_add(time))
        .ok_or_else(|| "timestamp out of range".into())
}

/// Parses a `timestamp` parameter (no time zone; `T` or space separator) into microseconds
/// since 2000-01-01.
pub(crate) fn parse_timestamp(s: &str) -> Result<i64, String> {
    match s {
        "infinity" => Ok(i64::MAX),
        "-infinity" => Ok(i64::MIN),
        _ => micros_since_epoch(parse_naive(s)?),
    }
}

/// Parses a `timestamptz` parameter: RFC 3339 with an offset, or without one meaning UTC (the
/// session time zone Sluice pins), into microseconds since 2000-01-01 UTC.
pub(crate) fn parse_timestamptz(s: &str) -> Result<i64, String> {
    match s {
        "infinity" => Ok(i64::MAX),
        "-infinity" => Ok(i64::MIN),
        _ => match DateTime::parse_from_rfc3339(s) {
            Ok(dt) => micros_since_epoch(dt.naive_utc()),
            Err(_) => micros_since_epoch(parse_naive(s)?),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(format_date(0), "2000-01-01");
        assert_eq!(format_date(-730_119), "0001-01-01");
        assert_eq!(format_date(-730_120), "0000-12-31");
        assert_eq!(format_timestamp(-1, true), "1999-12-31T23:59:59.999999Z");
        assert_eq!(format_timestamp(1_500_000, false), "2000-01-01T00:00:01.500000");
        assert_eq!(format_interval(14, 3, 14_706_500_000), "P1Y2M3DT4H5M6.5S");
        assert_eq!(format_interval(0, 0, -1_500_000), "PT-1.5S");
        assert_eq!(format_interval(-1, 0, 0), "P-1M");
        assert_eq!(format_time(86_400_000_000), "24:00:00");
        assert_eq!(format_timetz(1_500_000, -7200), "00:00:01.500000+02:00");
        assert_eq!(format_timetz(0, 12_615), "00:00:00-03:30:15");
    }

    #[test]
    fn postgres_text() {
        assert_eq!(pg_date(-730_120), "0001-12-31 BC");
        assert_eq!(pg_date(0), "2000-01-01");
        assert_eq!(pg_timestamp(1_500_000, true), "2000-01-01 00:00:01.5+00");
        assert_eq!(pg_timestamp(-730_120 * USECS_PER_DAY, false), "0001-12-31 00:00:00 BC");
        assert_eq!(pg_time(45_296_120_000), "12:34:56.12");
        assert_eq!(pg_timetz(0, -19_800), "00:00:00+05:30");
        assert_eq!(pg_timetz(0, 3600), "00:00:00-01");
    }

    #[test]
    fn parses() {
        assert_eq!(parse_date("2000-01-02"), Ok(1));
        assert_eq!(parse_timestamp("2000-01-01T00:00:01.5"), Ok(1_500_000));
        assert_eq!(parse_timestamptz("2000-01-01T01:00:00+01:00"), Ok(0));
        assert_eq!(parse_timestamptz("1999-12-31T23:59:59.999999Z"), Ok(-1));
        assert!(parse_timestamp("2000-01-01T00:00:00.0000001").is_err());
        assert_eq!(parse_time("12:00:00.25"), Ok(43_200_250_000));
    }
}
