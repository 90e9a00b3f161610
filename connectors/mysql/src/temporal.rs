//! MySQL / MariaDB dates and times, which may hold values no ISO 8601 form describes: zero dates
//! (`0000-00-00`), dates with a zero month or day, invalid days (`ALLOW_INVALID_DATES`), and TIME
//! values that are durations (negative, or 24 hours and more, up to 838:59:59).
//!
//! A column's type is settled after its rows are read: a DATE / DATETIME / TIMESTAMP column
//! holding any date that is not a real calendar date is typed `text`, every value as MariaDB
//! prints it (`CAST(x AS CHAR)`); a TIME column holding any value outside `[00:00, 24:00)` is
//! typed `interval`, every value an ISO 8601 duration in hours (`PT-838H-59M-59S`).

use std::fmt::Write as _;

/// Whether `y-m-d` is a date of the proleptic Gregorian calendar with a year from 1 (MySQL's
/// year 0 is not 1 BC: it has no leap day).
pub(crate) fn is_calendar_date(y: u16, m: u8, d: u8) -> bool {
    let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1 && d >= 1 && d <= days
}

/// Whether a TIME value is a time of day.
pub(crate) fn is_time_of_day(negative: bool, days: u32, hours: u8) -> bool {
    !negative && days == 0 && hours < 24
}

/// Six fraction digits, only when nonzero (Sluice's ISO forms).
pub(crate) fn fraction(us: u32) -> String {
    if us == 0 { String::new() } else { format!(".{us:06}") }
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]`.
pub(crate) fn iso_datetime(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> String {
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{}", fraction(us))
}

/// A date or datetime as MariaDB prints it: `0000-00-00`, `2024-02-30 10:00:00.50` (the
/// column's `decimals` fraction digits; 6, when nonzero, for expressions that declare none).
#[allow(clippy::too_many_arguments)] // the seven fields of the wire value, plus how to print them
pub(crate) fn mysql_text(
    date_only: bool,
    decimals: u8,
    y: u16,
    mo: u8,
    d: u8,
    h: u8,
    mi: u8,
    s: u8,
    us: u32,
) -> String {
    let mut out = format!("{y:04}-{mo:02}-{d:02}");
    if date_only {
        return out;
    }
    let _ = write!(out, " {h:02}:{mi:02}:{s:02}");
    match decimals {
        0 => {}
        1..=6 => {
            let digits = usize::from(decimals);
            let _ = write!(out, ".{:0digits$}", us / 10u32.pow(6 - u32::from(decimals)));
        }
        _ if us != 0 => {
            let _ = write!(out, ".{us:06}");
        }
        _ => {}
    }
    out
}

/// A TIME as an ISO 8601 duration, each component carrying the sign as PostgreSQL's
/// `iso_8601` interval style prints it: `PT838H59M59S`, `PT-1H-0.5S`, `PT0S`.
pub(crate) fn duration(negative: bool, days: u32, h: u8, mi: u8, s: u8, us: u32) -> String {
    let hours = u64::from(days) * 24 + u64::from(h);
    if hours == 0 && mi == 0 && s == 0 && us == 0 {
        return "PT0S".into();
    }
    let sign = if negative { "-" } else { "" };
    let mut out = String::from("PT");
    if hours != 0 {
        let _ = write!(out, "{sign}{hours}H");
    }
    if mi != 0 {
        let _ = write!(out, "{sign}{mi}M");
    }
    if s != 0 || us != 0 {
        let _ = write!(out, "{sign}{s}");
        if us != 0 {
            let _ = write!(out, ".{}", format!("{us:06}").trim_end_matches('0'));
        }
        out.push('S');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates() {
        assert!(is_calendar_date(2024, 2, 29));
        assert!(!is_calendar_date(2023, 2, 29));
        assert!(!is_calendar_date(0, 0, 0));
        assert!(!is_calendar_date(2024, 0, 1));
        assert!(!is_calendar_date(2024, 1, 0));
        assert!(!is_calendar_date(2024, 4, 31));
        assert!(!is_calendar_date(0, 1, 1));
        assert!(is_calendar_date(1, 1, 1));
    }

    #[test]
    fn texts_and_durations() {
        assert_eq!(mysql_text(true, 0, 0, 0, 0, 0, 0, 0, 0), "0000-00-00");
        assert_eq!(mysql_text(false, 2, 2024, 2, 30, 1, 2, 3, 500_000), "2024-02-30 01:02:03.50");
        assert_eq!(mysql_text(false, 0, 0, 0, 0, 0, 0, 0, 0), "0000-00-00 00:00:00");
        assert_eq!(duration(true, 34, 22, 59, 59, 0), "PT-838H-59M-59S");
        assert_eq!(duration(false, 1, 0, 0, 0, 0), "PT24H");
        assert_eq!(duration(true, 0, 0, 0, 0, 500_000), "PT-0.5S");
        assert_eq!(duration(false, 0, 0, 0, 0, 0), "PT0S");
    }
}
