//! Masks over structured values: date truncation and JSON key removal.

use super::{ColumnType, Mask, MaskDialect, MaskError};

/// A truncation unit, as `policy::convert` accepts them. Weeks start on Monday (ISO 8601) in
/// every dialect, whatever the session's first-day-of-week setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
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

    /// The unit's name in PostgreSQL's `date_trunc` and SQL Server's `DATETRUNC` (both take a
    /// fixed keyword, never the plugin's text).
    fn keyword(self, dialect: MaskDialect) -> &'static str {
        match self {
            Unit::Year => "year",
            Unit::Quarter => "quarter",
            Unit::Month => "month",
            Unit::Week if dialect == MaskDialect::MsSql => "iso_week",
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
    let (d, c) = (m.dialect, m.column);
    let date = match m.column_type {
        ColumnType::Date => true,
        ColumnType::Timestamp => false,
        _ => return Err(m.mismatch()),
    };
    Ok(match d {
        // date_trunc returns timestamp for a date: cast back. For timestamp / timestamptz it
        // returns the input's own type.
        MaskDialect::Postgres if date => format!("CAST(date_trunc('{}', {c}) AS date)", unit.keyword(d)),
        MaskDialect::Postgres => format!("date_trunc('{}', {c})", unit.keyword(d)),
        MaskDialect::MySql => mysql_truncate(unit, c, date),
        MaskDialect::Sqlite => sqlite_truncate(unit, c, date),
        MaskDialect::MsSql => match unit {
            // DATEFROMPARTS works on every version and returns a date.
            Unit::Year if date => format!("DATEFROMPARTS(YEAR({c}), 1, 1)"),
            Unit::Quarter if date => {
                format!("DATEFROMPARTS(YEAR({c}), (DATEPART(quarter, {c}) - 1) * 3 + 1, 1)")
            }
            Unit::Month if date => format!("DATEFROMPARTS(YEAR({c}), MONTH({c}), 1)"),
            Unit::Day | Unit::Hour | Unit::Minute if date => c.to_string(),
            // DATETRUNC (SQL Server 2022) returns the input's own type: datetime2 stays
            // datetime2, datetimeoffset keeps its offset.
            _ => format!("DATETRUNC({}, {c})", unit.keyword(d)),
        },
    })
}

/// MySQL / MariaDB: date arithmetic on DATE values keeps DATE; timestamps are truncated through
/// their date (or formatted down to the hour / minute) and cast back to DATETIME.
fn mysql_truncate(unit: Unit, c: &str, date: bool) -> String {
    let day = if date { c.to_string() } else { format!("DATE({c})") };
    let start = match unit {
        Unit::Year => format!("MAKEDATE(YEAR({c}), 1)"),
        Unit::Quarter => format!("(MAKEDATE(YEAR({c}), 1) + INTERVAL (QUARTER({c}) - 1) QUARTER)"),
        Unit::Month => format!("({day} - INTERVAL (DAYOFMONTH({c}) - 1) DAY)"),
        Unit::Week => format!("({day} - INTERVAL WEEKDAY({c}) DAY)"),
        Unit::Day => day,
        Unit::Hour | Unit::Minute if date => c.to_string(),
        Unit::Hour => return format!("CAST(DATE_FORMAT({c}, '%Y-%m-%d %H:00:00') AS DATETIME)"),
        Unit::Minute => return format!("CAST(DATE_FORMAT({c}, '%Y-%m-%d %H:%i:00') AS DATETIME)"),
    };
    if date { start } else { format!("CAST({start} AS DATETIME)") }
}

/// SQLite stores dates as text; its date functions normalise to `YYYY-MM-DD` and
/// `YYYY-MM-DD HH:MM:SS`.
fn sqlite_truncate(unit: Unit, c: &str, date: bool) -> String {
    let f = if date { "date" } else { "datetime" };
    match unit {
        Unit::Year => format!("{f}({c}, 'start of year')"),
        Unit::Quarter => format!(
            "{f}({c}, 'start of month', '-' || ((CAST(strftime('%m', {c}) AS INTEGER) - 1) % 3) || ' months')"
        ),
        Unit::Month => format!("{f}({c}, 'start of month')"),
        // Back six days, then forward to the next Monday: the Monday on or before the date.
        Unit::Week => format!("{f}({c}, 'start of day', '-6 days', 'weekday 1')"),
        Unit::Day => format!("{f}({c}, 'start of day')"),
        Unit::Hour | Unit::Minute if date => format!("date({c})"),
        Unit::Hour => format!("strftime('%Y-%m-%d %H:00:00', {c})"),
        Unit::Minute => format!("strftime('%Y-%m-%d %H:%M:00', {c})"),
    }
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
    let c = m.column;
    if m.dialect == MaskDialect::Postgres {
        let keys = keys.iter().map(|k| m.literal(k)).collect::<Result<Vec<_>, _>>()?;
        // jsonb - text[] removes top-level keys; a json column is converted and converted back
        // (json and jsonb do not mix implicitly, so the type must come back as it was).
        let source = if jsonb { c.to_string() } else { format!("CAST({c} AS jsonb)") };
        let removed = format!("({source} - CAST(ARRAY[{}] AS text[]))", keys.join(", "));
        return Ok(if jsonb { removed } else { format!("CAST({removed} AS json)") });
    }
    let paths = keys
        .iter()
        .map(|k| {
            if k.chars().any(|ch| ch == '"' || ch == '\\' || ch.is_control()) {
                return Err(m.unsupported("a JSON key with quotes, backslashes or control characters"));
            }
            m.literal(&format!("$.\"{k}\""))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match m.dialect {
        MaskDialect::MySql => format!("JSON_REMOVE({c}, {})", paths.join(", ")),
        MaskDialect::Sqlite => format!("json_remove({c}, {})", paths.join(", ")),
        // In lax mode (the default) setting a member to NULL deletes it.
        _ => paths.iter().fold(c.to_string(), |doc, path| format!("JSON_MODIFY({doc}, {path}, NULL)")),
    })
}
