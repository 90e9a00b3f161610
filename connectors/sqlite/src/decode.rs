//! SQLite values -> [`Value`], by declared column type (affinity) and storage class; JSON
//! parameters -> SQLite values.

use rusqlite::types::{Value as Sql, ValueRef};
use sluice_core::execute::{ExecError, Value};

/// What a column's declared type says, following SQLite's affinity rules plus a few names
/// Sluice reads more precisely (BOOLEAN, DECIMAL, DATE…, JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Declared {
    Integer,
    Real,
    Text,
    Blob,
    Numeric,
    Bool,
    /// DATE / DATETIME / TIMESTAMP: SQLite has no such types; values are text as stored.
    DateText,
    Json,
    /// An expression column: typed by its values' storage class.
    None,
}

pub(crate) fn declared(decltype: Option<&str>) -> Declared {
    let Some(t) = decltype.map(str::to_ascii_uppercase) else {
        return Declared::None;
    };
    let base = t.split('(').next().unwrap_or_default().trim().to_owned();
    match base.as_str() {
        "BOOLEAN" | "BOOL" => return Declared::Bool,
        "DATE" | "DATETIME" | "TIMESTAMP" | "TIME" => return Declared::DateText,
        "JSON" | "JSONB" => return Declared::Json,
        "NUMERIC" | "DECIMAL" => return Declared::Numeric,
        _ => {}
    }
    // https://www.sqlite.org/datatype3.html#determination_of_column_affinity
    if t.contains("INT") {
        Declared::Integer
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        Declared::Text
    } else if t.contains("BLOB") || t.is_empty() {
        Declared::Blob
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        Declared::Real
    } else {
        Declared::Numeric
    }
}

impl Declared {
    /// The Sluice type name; expression columns take it from their first non-null value.
    pub(crate) fn type_name(self, first: Option<ValueRef<'_>>) -> &'static str {
        match self {
            Declared::Integer => "int8",
            Declared::Real => "float8",
            Declared::Text | Declared::DateText => "text",
            Declared::Blob => "bytes",
            Declared::Numeric => "numeric",
            Declared::Bool => "bool",
            Declared::Json => "json",
            Declared::None => match first {
                Some(ValueRef::Integer(_)) => "int8",
                Some(ValueRef::Real(_)) => "float8",
                Some(ValueRef::Blob(_)) => "bytes",
                Some(ValueRef::Text(_) | ValueRef::Null) | None => "text",
            },
        }
    }
}

fn by_class(v: ValueRef<'_>) -> Result<Value, ExecError> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int8(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => Value::Text(utf8(t)?),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    })
}

fn utf8(bytes: &[u8]) -> Result<String, ExecError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ExecError::Upstream {
        code: None,
        message: "a text value is not valid UTF-8; cast it to a blob".into(),
    })
}

/// Decodes one value. SQLite lets any column hold any storage class, so a value that does not
/// fit its column's declared type is decoded by its own class.
pub(crate) fn value(d: Declared, v: ValueRef<'_>) -> Result<Value, ExecError> {
    Ok(match (d, v) {
        (Declared::Bool, ValueRef::Integer(i @ (0 | 1))) => Value::Bool(i == 1),
        (Declared::Numeric, ValueRef::Integer(i)) => Value::Decimal(i.to_string()),
        (Declared::Numeric, ValueRef::Real(f)) if f.is_finite() => Value::Decimal(f.to_string()),
        (Declared::Real, ValueRef::Integer(i)) => {
            #[allow(clippy::cast_precision_loss)] // SQLite itself converts like this for REAL
            let f = i as f64;
            Value::Float(f)
        }
        (Declared::Json, ValueRef::Text(t)) => match serde_json::from_slice(t) {
            Ok(json) => Value::Json(json),
            Err(_) => Value::Text(utf8(t)?),
        },
        _ => by_class(v)?,
    })
}

/// A JSON parameter as an SQLite value. Arrays and objects travel as JSON text; there is no
/// way to pass a blob (use `unhex(?)` in SQL).
pub(crate) fn param(index: usize, v: &serde_json::Value) -> Result<Sql, ExecError> {
    Ok(match v {
        serde_json::Value::Null => Sql::Null,
        serde_json::Value::Bool(b) => Sql::Integer(i64::from(*b)),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Sql::Integer(i),
            (None, Some(f)) if n.is_f64() => Sql::Real(f),
            _ => {
                return Err(ExecError::Param {
                    index,
                    message: format!("{n} does not fit SQLite's 64-bit signed integer"),
                });
            }
        },
        serde_json::Value::String(s) => Sql::Text(s.clone()),
        other => Sql::Text(other.to_string()),
    })
}
