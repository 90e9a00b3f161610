//! Masks that replace or coarsen a value: null, constant, default-for-type, round, bucket.

use super::{ColumnType, Mask, MaskError};

/// Always NULL. `CASE WHEN 1 = 0 THEN c END` rather than a bare `NULL`: the database types the
/// CASE after the column, so the masked column keeps its exact type (a bare NULL would be
/// `unknown` / `text` and break `WHERE masked_col > 5` with a type error that reveals the mask).
pub(super) fn null(m: &Mask<'_>) -> String {
    format!("CASE WHEN 1 = 0 THEN {} END", m.column)
}

/// `arg` for every row, NULL rows included (see the module docs of `mask`), in the column's type.
pub(super) fn constant(m: &Mask<'_>, arg: &str) -> Result<String, MaskError> {
    let canonical = canonical_value(m, arg)?;
    replace_with(m, &canonical)
}

/// The type's neutral value for every row, NULL rows included: '' / 0 / false / the Unix epoch /
/// `{}` / an empty byte string.
pub(super) fn default_for_type(m: &Mask<'_>) -> Result<String, MaskError> {
    let canonical = match m.column_type {
        ColumnType::Text => "",
        ColumnType::Integer | ColumnType::Decimal | ColumnType::Float => "0",
        ColumnType::Date => "1970-01-01",
        ColumnType::Timestamp => "1970-01-01 00:00:00",
        ColumnType::Json | ColumnType::Jsonb => "{}",
        ColumnType::Bool => "false",
        ColumnType::Bytes => {
            let empty = m.dialect.rules().empty_bytes();
            return Ok(format!("CASE WHEN 1 = 0 THEN {} ELSE {empty} END", m.column));
        }
        ColumnType::Other => return Err(m.mismatch()),
    };
    replace_with(m, canonical)
}

/// `CASE WHEN 1 = 0 THEN c ELSE <literal> END`: the CASE is typed from the column, so the
/// literal is converted to the column's exact type by the database. PostgreSQL gets an untyped
/// string literal (resolved to the column's type, `varchar(20)`, `numeric(10,2)`, `jsonb`…);
/// the others get a literal of the class's own type.
fn replace_with(m: &Mask<'_>, canonical: &str) -> Result<String, MaskError> {
    // `canonical` was produced by `canonical_value` (or is a fixed default): numbers are digits,
    // signs, `.` and `e` only and may go in bare; the rest goes in as a literal of its type.
    let literal = m.dialect.rules().constant(m.column_type, canonical, &m.literal(canonical)?);
    Ok(format!("CASE WHEN 1 = 0 THEN {} ELSE {literal} END", m.column))
}

/// Parses a constant for the column's class and renders it back in one canonical form, so that
/// nothing of the plugin's text reaches the SQL unless it is a well-formed value of that type.
fn canonical_value(m: &Mask<'_>, arg: &str) -> Result<String, MaskError> {
    let bad = |what: &str| m.arguments(format!("the constant is not a valid {what}"));
    let arg_t = arg.trim();
    match m.column_type {
        ColumnType::Text => {
            m.literal(arg)?;
            Ok(arg.to_string())
        }
        ColumnType::Integer => arg_t.parse::<i64>().map(|n| n.to_string()).map_err(|_| bad("integer")),
        ColumnType::Decimal => parse_decimal(arg_t).ok_or_else(|| bad("decimal number")),
        ColumnType::Float => match arg_t.parse::<f64>() {
            // `{:e}` never prints hundreds of digits and is a float literal everywhere.
            Ok(f) if f.is_finite() => Ok(format!("{f:e}")),
            _ => Err(bad("finite number")),
        },
        ColumnType::Date => parse_date(arg_t).ok_or_else(|| bad("date (YYYY-MM-DD)")),
        ColumnType::Timestamp => {
            parse_timestamp(arg_t).ok_or_else(|| bad("timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])"))
        }
        ColumnType::Bool => match arg_t.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => Ok("true".into()),
            "false" | "f" | "0" => Ok("false".into()),
            _ => Err(bad("boolean")),
        },
        ColumnType::Json | ColumnType::Jsonb => {
            let value: serde_json::Value = serde_json::from_str(arg).map_err(|_| bad("JSON document"))?;
            Ok(value.to_string())
        }
        ColumnType::Bytes | ColumnType::Other => Err(m.mismatch()),
    }
}

/// An exact decimal `[-]digits[.digits]`, rendered back from its parts (leading zeros dropped).
pub(super) fn parse_decimal(s: &str) -> Option<String> {
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || int.len() + frac.len() > 65 {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let sign = if negative { "-" } else { "" };
    Some(if frac.is_empty() { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") })
}

/// Exactly `len` ASCII digits, at most `max`.
fn number(s: &str, len: usize, max: u32) -> Option<u32> {
    if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>().ok().filter(|n| *n <= max)
}

/// `YYYY-MM-DD`, month and day in range (the database checks the calendar).
pub(super) fn parse_date(s: &str) -> Option<String> {
    let mut parts = s.split('-');
    let (y, mo, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (y, mo, d) = (number(y, 4, 9999)?, number(mo, 2, 12)?, number(d, 2, 31)?);
    (y >= 1 && mo >= 1 && d >= 1).then(|| format!("{y:04}-{mo:02}-{d:02}"))
}

/// `YYYY-MM-DD HH:MM:SS[.f…]` (or with `T`), no time zone: the database's session zone applies.
fn parse_timestamp(s: &str) -> Option<String> {
    let (date, time) = s.split_once([' ', 'T'])?;
    let date = parse_date(date)?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut parts = hms.split(':');
    let (h, mi, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, mi, sec) = (number(h, 2, 23)?, number(mi, 2, 59)?, number(sec, 2, 59)?);
    let frac = if frac.is_empty() { String::new() } else { format!(".{frac}") };
    Some(format!("{date} {h:02}:{mi:02}:{sec:02}{frac}"))
}

/// Rounds to `places` decimal places, keeping the numeric type. Integers have no decimal places
/// to drop: the column is returned as is.
pub(super) fn round(m: &Mask<'_>, places: u16) -> Result<String, MaskError> {
    let c = m.column;
    match m.column_type {
        ColumnType::Integer => Ok(c.to_string()),
        ColumnType::Decimal | ColumnType::Float => Ok(m.dialect.rules().round(m.column_type, c, places)),
        _ => Err(m.mismatch()),
    }
}

/// `floor(c / width) * width`, keeping the numeric type. Integer columns need an integer width
/// and use `c - ((c % w + w) % w)`: integer-only arithmetic keeps the exact integer type, and
/// the double modulo floors negative values too (`%` truncates toward zero in every dialect).
/// (MySQL computes all integer arithmetic in BIGINT, so there an INT column comes back as a
/// BIGINT: still an integer, only wider. A bucket whose floor lies below the type's minimum
/// makes the database raise an overflow error: the statement fails, nothing leaks.)
pub(super) fn bucket(m: &Mask<'_>, arg: &str) -> Result<String, MaskError> {
    let positive = || m.arguments("the bucket width must be a positive number");
    let width = parse_decimal(arg.trim()).filter(|w| !w.starts_with('-')).ok_or_else(positive)?;
    if !width.parse::<f64>().is_ok_and(|w| w > 0.0 && w.is_finite()) {
        return Err(positive());
    }
    let c = m.column;
    match m.column_type {
        ColumnType::Integer => {
            let w: i64 = width
                .parse()
                .map_err(|_| m.arguments("an integer column needs a whole-number bucket width"))?;
            Ok(format!("({c} - (({c} % {w} + {w}) % {w}))"))
        }
        ColumnType::Decimal | ColumnType::Float => Ok(m.dialect.rules().floor_to(c, &width)),
        _ => Err(m.mismatch()),
    }
}
