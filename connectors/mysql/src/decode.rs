//! MySQL / MariaDB binary-protocol values -> [`Value`], by column type, flags and charset.

use mysql_async::Value as My;
use mysql_async::consts::{ColumnFlags, ColumnType};
use sluice_core::execute::{Column, ExecError, Value};

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
    Json,
    Date,
    Time,
    DateTime,
    Timestamp,
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
            (Kind::Text | Kind::Null, _) => "text",
            (Kind::Bytes, _) => "bytes",
            (Kind::Json, _) => "json",
            (Kind::Date, _) => "date",
            (Kind::Time, _) => "time",
            (Kind::DateTime, _) => "timestamp",
            (Kind::Timestamp, _) => "timestamptz",
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

fn value(k: Kind, v: My) -> Option<Value> {
    Some(match (k, v) {
        (_, My::NULL) | (Kind::Null, _) => Value::Null,
        (Kind::Int, My::Int(i)) => Value::Int(i),
        (Kind::Int, My::UInt(u)) => Value::Int(i64::try_from(u).ok()?),
        (Kind::Int8, My::Int(i)) => Value::Int8(i),
        (Kind::Int8, My::UInt(u)) => Value::Int8(i64::try_from(u).ok()?),
        (Kind::UInt8, My::UInt(u)) => Value::UInt8(u),
        (Kind::UInt8, My::Int(i)) => Value::UInt8(u64::try_from(i).ok()?),
        // Through the shortest decimal that reads back as the same f32 (0.1, not 0.100000001...).
        (Kind::Float4, My::Float(f)) if f.is_finite() => Value::Float(f.to_string().parse().ok()?),
        (Kind::Float4, My::Float(f)) => Value::Float(f64::from(f)),
        (Kind::Float4 | Kind::Float8, My::Double(f)) => Value::Float(f),
        (Kind::Decimal, My::Bytes(b)) => Value::Decimal(text(b)?),
        (Kind::Text, My::Bytes(b)) => Value::Text(text(b)?),
        (Kind::Bytes, My::Bytes(b)) => Value::Bytes(b),
        (Kind::Json, My::Bytes(b)) => Value::Json(serde_json::from_slice(&b).ok()?),
        (Kind::Date, My::Date(y, m, d, ..)) => Value::Date(format!("{y:04}-{m:02}-{d:02}")),
        (Kind::DateTime, My::Date(y, mo, d, h, mi, s, us)) => {
            Value::Timestamp(datetime(y, mo, d, h, mi, s, us))
        }
        (Kind::Timestamp, My::Date(y, mo, d, h, mi, s, us)) => {
            Value::TimestampTz(format!("{}Z", datetime(y, mo, d, h, mi, s, us)))
        }
        (Kind::Time, My::Time(negative, days, h, mi, s, us)) => {
            let hours = u64::from(days) * 24 + u64::from(h);
            let sign = if negative { "-" } else { "" };
            Value::Time(format!("{sign}{hours:02}:{mi:02}:{s:02}{}", fraction(us)))
        }
        _ => return None,
    })
}

fn fraction(us: u32) -> String {
    if us == 0 { String::new() } else { format!(".{us:06}") }
}

fn datetime(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> String {
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{}", fraction(us))
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
