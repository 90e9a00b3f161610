//! Masks over structured values: date truncation and JSON key removal.

use super::{ColumnType, Mask, MaskError};

/// A truncation unit, as `policy::convert` accepts them. Weeks start on Monday (ISO 8601) in
/// every dialect, whatever the session's first-day-of-week setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// January 1st.
    Year,
    /// The first day of January, April, July or October.
    Quarter,
    /// The first of the month.
    Month,
    /// Monday (ISO 8601).
    Week,
    /// Midnight.
    Day,
    /// The hour.
    Hour,
    /// The minute.
    Minute,
}

impl Unit {
    fn parse(s: &str) -> Option<Unit> {
        Some(match s.trim() {
            "year" => Unit::Year,
            "quarter" => Unit::Quarter,
            "month" => Unit::Month,
            "week" => Unit::Week,
            "day" => Unit::Day,
            "hour" => Unit::Hour,
            "minute" => Unit::Minute,
            _ => return None,
        })
    }

    /// The unit's name in PostgreSQL's `date_trunc` (a fixed keyword, never the plugin's text).
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Unit::Year => "year",
            Unit::Quarter => "quarter",
            Unit::Month => "month",
            Unit::Week => "week",
            Unit::Day => "day",
            Unit::Hour => "hour",
            Unit::Minute => "minute",
        }
    }
}

/// Truncates a date or timestamp to the start of its year, quarter, month, ISO week, day, hour or
/// minute, keeping the column's type (a date stays a date). A date truncated to an hour or a
/// minute is unchanged. NULL (and, on SQLite, text that is not a date) gives NULL.
pub(super) fn truncate(m: &Mask<'_>, arg: &str) -> Result<String, MaskError> {
    let unit = Unit::parse(arg).ok_or_else(|| {
        m.arguments("the unit must be one of year, quarter, month, week, day, hour, minute")
    })?;
    let date = match m.column_type {
        ColumnType::Date => true,
        ColumnType::Timestamp => false,
        _ => return Err(m.mismatch()),
    };
    Ok(m.dialect.rules().truncate(unit, m.column, date))
}

/// Removes the top-level `keys` from a JSON document; the rest stays visible. NULL stays NULL.
/// Keys are rendered as escaped literals; for the JSON-path dialects they are also quoted as path
/// members (`$."key"`), so `.`, `[` or `*` in a key cannot select other members. Keys containing
/// `"`, `\` or control characters are refused there, because path-member escaping differs between
/// MySQL, SQLite and SQL Server.
pub(super) fn json_redact(m: &Mask<'_>, keys: &[String]) -> Result<String, MaskError> {
    if keys.is_empty() || keys.iter().any(String::is_empty) {
        return Err(m.arguments("needs one or more non-empty keys"));
    }
    let jsonb = match m.column_type {
        ColumnType::Jsonb => true,
        ColumnType::Json => false,
        _ => return Err(m.mismatch()),
    };
    m.dialect.rules().json_redact(m, keys, jsonb)
}

/// Each key as the string literal of a JSON path to that top-level member (`$."key"`), for the
/// dialects that remove members by path. Quoting the member keeps `.`, `[` or `*` in a key from
/// selecting other members; keys with `"`, `\` or control characters are refused, because
/// path-member escaping differs between MySQL, SQLite and SQL Server.
pub(crate) fn json_paths(m: &Mask<'_>, keys: &[String]) -> Result<Vec<String>, MaskError> {
    keys.iter()
        .map(|k| {
            if k.chars().any(|ch| ch == '"' || ch == '\\' || ch.is_control()) {
                return Err(m.unsupported("a JSON key with quotes, backslashes or control characters"));
            }
            m.literal(&format!("$.\"{k}\""))
        })
        .collect()
}
