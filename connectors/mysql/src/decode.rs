//! MySQL / MariaDB binary-protocol values -> [`Value`], by column type, flags and charset.

use mysql_async::Value as My;
use mysql_async::consts::{ColumnFlags, ColumnType};
use sluice_core::execute::{Column, ExecError, Value};

use crate::temporal::{duration, fraction, is_calendar_date, is_time_of_day, iso_datetime, mysql_text};

/// The `binary` pseudo-charset: the column holds bytes, not text.
const BINARY_CHARSET: u16 = 63;

/// How to decode one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    /// An integer that may not fit 32 bits signed (INT UNSIGNED, BIGINT): int8, a string in JSON.
    Int8,
    /// BIGINT UNSIGNED.
    UInt8,
    Float4,
    Float8,
    Decimal,
    Text,
    Bytes,
    /// MySQL's JSON type (MariaDB's JSON is LONGTEXT and arrives as text).
    Json,
    Date,
    Time,
    DateTime,
    Timestamp,
    /// A DATE (`date_only`), DATETIME or TIMESTAMP column holding a date that is not a calendar
    /// date in this result: every value as MariaDB prints it, `decimals` fraction digits.
    TemporalText {
        date_only: bool,
        decimals: u8,
    },
    /// A TIME column holding a value outside a day in this result: ISO 8601 durations.
    Duration,
    /// GEOMETRY: the stored bytes (a 4-byte little-endian SRID, then WKB), base64.
    Geometry,
    /// MySQL 9's VECTOR: little-endian 32-bit floats, a JSON array of float4 numbers.
    Vector,
    /// `SELECT NULL`: always NULL.
    Null,
}

impl Kind {
    fn type_name(self, col: &mysql_async::Column) -> &'static str {
        let unsigned = col.flags().contains(ColumnFlags::UNSIGNED_FLAG);
        match (self, col.column_type()) {
            (Kind::Int, ColumnType::MYSQL_TYPE_TINY | ColumnType::MYSQL_TYPE_YEAR) => "int2",
            (Kind::Int, ColumnType::MYSQL_TYPE_SHORT) if !unsigned => "int2",
            (Kind::Int, _) => "int4",
            (Kind::Int8, _) => "int8",
            (Kind::UInt8 | Kind::Decimal, _) => "numeric",
            (Kind::Float4, _) => "float4",
            (Kind::Float8, _) => "float8",
            (Kind::Text | Kind::Null | Kind::TemporalText { .. }, _) => "text",
            (Kind::Bytes, _) => "bytes",
            (Kind::Json, _) => "json",
            (Kind::Date, _) => "date",
            (Kind::Time, _) => "time",
            (Kind::Duration, _) => "interval",
            (Kind::DateTime, _) => "timestamp",
            (Kind::Timestamp, _) => "timestamptz",
            (Kind::Geometry, _) => "geometry",
            (Kind::Vector, _) => "vector",
        }
    }
}

fn kind(col: &mysql_async::Column) -> Option<Kind> {
    use ColumnType::*;
    let unsigned = col.flags().contains(ColumnFlags::UNSIGNED_FLAG);
    let binary = col.character_set() == BINARY_CHARSET;
    Some(match col.column_type() {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_YEAR => Kind::Int,
        MYSQL_TYPE_LONG if unsigned => Kind::Int8,
        MYSQL_TYPE_LONG => Kind::Int,
        MYSQL_TYPE_LONGLONG if unsigned => Kind::UInt8,
        MYSQL_TYPE_LONGLONG => Kind::Int8,
        MYSQL_TYPE_FLOAT => Kind::Float4,
        MYSQL_TYPE_DOUBLE => Kind::Float8,
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => Kind::Decimal,
        MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_STRING
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_BLOB
            if binary =>
        {
            Kind::Bytes
        }
        MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_STRING
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_ENUM
        | MYSQL_TYPE_SET => Kind::Text,
        MYSQL_TYPE_BIT => Kind::Bytes,
        MYSQL_TYPE_JSON => Kind::Json,
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => Kind::Date,
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => Kind::Time,
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => Kind::DateTime,
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => Kind::Timestamp,
        MYSQL_TYPE_NULL => Kind::Null,
        MYSQL_TYPE_GEOMETRY => Kind::Geometry,
        MYSQL_TYPE_VECTOR => Kind::Vector,
        _ => return None,
    })
}

/// Result columns and their decoders; fails before any row is read on an unsupported type.
pub(crate) fn columns(cols: &[mysql_async::Column]) -> Result<(Vec<Column>, Vec<Kind>), ExecError> {
    let mut columns = Vec::with_capacity(cols.len());
    let mut kinds = Vec::with_capacity(cols.len());
    for col in cols {
        let k = kind(col).ok_or_else(|| ExecError::UnsupportedType {
            column: col.name_str().into_owned(),
            type_name: format!("{:?}", col.column_type()),
        })?;
        columns.push(Column { name: col.name_str().into_owned(), type_name: k.type_name(col).into() });
        kinds.push(k);
    }
    Ok((columns, kinds))
}

/// Settles the type of temporal columns once their rows are read: a zero or invalid date makes
/// its column text, a TIME outside a day makes its column an interval (see `temporal`).
pub(crate) fn settle(
    cols: &[mysql_async::Column],
    columns: &mut [Column],
    kinds: &mut [Kind],
    rows: &[Vec<My>],
) {
    for (i, ((kind, column), col)) in kinds.iter_mut().zip(columns.iter_mut()).zip(cols).enumerate() {
        let mut values = rows.iter().filter_map(|r| r.get(i));
        let settled = match *kind {
            Kind::Date | Kind::DateTime | Kind::Timestamp
                if values.any(|v| matches!(*v, My::Date(y, m, d, ..) if !is_calendar_date(y, m, d))) =>
            {
                Kind::TemporalText { date_only: *kind == Kind::Date, decimals: col.decimals() }
            }
            Kind::Time
                if values
                    .any(|v| matches!(*v, My::Time(neg, days, h, ..) if !is_time_of_day(neg, days, h))) =>
            {
                Kind::Duration
            }
            _ => continue,
        };
        *kind = settled;
        column.type_name = settled.type_name(col).into();
    }
}

/// Decodes one row.
pub(crate) fn row(values: Vec<My>, columns: &[Column], kinds: &[Kind]) -> Result<Vec<Value>, ExecError> {
    values
        .into_iter()
        .zip(kinds.iter().zip(columns))
        .map(|(v, (&k, col))| {
            value(k, v).ok_or_else(|| ExecError::UnsupportedType {
                column: col.name.clone(),
                type_name: format!("{} (undecodable value)", col.type_name),
            })
        })
        .collect()
}

fn text(bytes: Vec<u8>) -> Option<String> {
    String::from_utf8(bytes).ok()
}

/// A float4 value: through the shortest decimal that reads back as the same `f32` (0.1, not
/// 0.100000001...). NaN and the infinities stay themselves (JSON strings when encoded).
fn float4(f: f32) -> Option<Value> {
    if f.is_finite() {
        f.to_string().parse().ok().map(Value::Float)
    } else {
        Some(Value::Float(f64::from(f)))
    }
}

/// A VECTOR value as the server sends it: 4 bytes per little-endian `f32`. `None` if the length
/// is not a multiple of 4.
fn vector(bytes: &[u8]) -> Option<Value> {
    let chunks = bytes.chunks_exact(4);
    if !chunks.remainder().is_empty() {
        return None;
    }
    chunks.map(|c| float4(f32::from_le_bytes(c.try_into().ok()?))).collect::<Option<_>>().map(Value::Array)
}

fn value(k: Kind, v: My) -> Option<Value> {
    Some(match (k, v) {
        (_, My::NULL) | (Kind::Null, _) => Value::Null,
        (Kind::Int, My::Int(i)) => Value::Int(i),
        (Kind::Int, My::UInt(u)) => Value::Int(i64::try_from(u).ok()?),
        (Kind::Int8, My::Int(i)) => Value::Int8(i),
        (Kind::Int8, My::UInt(u)) => Value::Int8(i64::try_from(u).ok()?),
        (Kind::UInt8, My::UInt(u)) => Value::UInt8(u),
        (Kind::UInt8, My::Int(i)) => Value::UInt8(u64::try_from(i).ok()?),
        (Kind::Float4, My::Float(f)) => float4(f)?,
        (Kind::Float4 | Kind::Float8, My::Double(f)) => Value::Float(f),
        (Kind::Decimal, My::Bytes(b)) => Value::Decimal(text(b)?),
        (Kind::Text, My::Bytes(b)) => Value::Text(text(b)?),
        (Kind::Bytes | Kind::Geometry, My::Bytes(b)) => Value::Bytes(b),
        (Kind::Vector, My::Bytes(b)) => vector(&b)?,
        // The JSON text as the server sent it, never parsed: numbers keep every digit.
        (Kind::Json, My::Bytes(b)) => Value::Json(text(b)?),
        (Kind::Date, My::Date(y, m, d, ..)) => Value::Date(format!("{y:04}-{m:02}-{d:02}")),
        (Kind::DateTime, My::Date(y, mo, d, h, mi, s, us)) => {
            Value::Timestamp(iso_datetime(y, mo, d, h, mi, s, us))
        }
        (Kind::Timestamp, My::Date(y, mo, d, h, mi, s, us)) => {
            Value::TimestampTz(format!("{}Z", iso_datetime(y, mo, d, h, mi, s, us)))
        }
        (Kind::TemporalText { date_only, decimals }, My::Date(y, mo, d, h, mi, s, us)) => {
            Value::Text(mysql_text(date_only, decimals, y, mo, d, h, mi, s, us))
        }
        (Kind::Time, My::Time(_, _, h, mi, s, us)) => {
            Value::Time(format!("{h:02}:{mi:02}:{s:02}{}", fraction(us)))
        }
        (Kind::Duration, My::Time(negative, days, h, mi, s, us)) => {
            Value::Interval(duration(negative, days, h, mi, s, us))
        }
        _ => return None,
    })
}

/// A JSON parameter as a MySQL value. Arrays and objects travel as JSON text.
pub(crate) fn param(v: &serde_json::Value) -> My {
    match v {
        serde_json::Value::Null => My::NULL,
        serde_json::Value::Bool(b) => My::Int(i64::from(*b)),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => My::Int(i),
            (None, Some(u), _) => My::UInt(u),
            (None, None, Some(f)) => My::Double(f),
            (None, None, None) => My::Bytes(n.to_string().into_bytes()),
        },
        serde_json::Value::String(s) => My::Bytes(s.clone().into_bytes()),
        other => My::Bytes(other.to_string().into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use sluice_core::encode::value_to_json;

    use super::*;

    /// The JSON text of a VECTOR value with these floats' bytes.
    fn vector_json(floats: &[f32]) -> String {
        let bytes: Vec<u8> = floats.iter().flat_map(|f| f.to_le_bytes()).collect();
        let value = value(Kind::Vector, My::Bytes(bytes)).expect("decodable");
        value_to_json(value).to_string()
    }

    #[test]
    fn vector_columns_are_vectors() {
        let col = mysql_async::Column::new(ColumnType::MYSQL_TYPE_VECTOR).with_character_set(BINARY_CHARSET);
        assert_eq!(kind(&col), Some(Kind::Vector));
        let (columns, _) = columns(&[col.with_name(b"v")]).expect("supported");
        assert_eq!(columns[0].type_name, "vector");
    }

    #[test]
    fn vectors_are_arrays_of_shortest_float4_decimals() {
        assert_eq!(vector_json(&[]), "[]");
        assert_eq!(vector_json(&[0.1, -2.5, 1.0]), "[0.1,-2.5,1.0]");
        assert_eq!(
            vector_json(&[f32::MAX, f32::MIN_POSITIVE, 1e-45, 16_777_217.0]),
            "[3.4028235e+38,1.1754944e-38,1e-45,16777216.0]"
        );
        assert_eq!(vector_json(&[-0.0]), "[-0.0]");
        // As float4 columns: JSON has no NaN or infinities, so they are the documented words.
        assert_eq!(
            vector_json(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY]),
            r#"["NaN","Infinity","-Infinity"]"#
        );
        assert_eq!(value(Kind::Vector, My::NULL), Some(Value::Null));
    }

    #[test]
    fn vector_bytes_not_made_of_floats_are_undecodable() {
        assert_eq!(value(Kind::Vector, My::Bytes(vec![0, 0, 128])), None);
        assert_eq!(value(Kind::Vector, My::Bytes(vec![0; 9])), None);
        assert_eq!(value(Kind::Vector, My::Int(1)), None);
    }
}
