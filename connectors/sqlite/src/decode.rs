//! SQLite values -> [`Value`], by declared column type (affinity) and the storage classes a
//! column's values have in the result; JSON parameters -> SQLite values.

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

/// How a result column is decoded, settled from its declared type and the storage classes of
/// the values it holds in this result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoder {
    /// Every value fits the declared type.
    Declared(Declared),
    /// Integers only: `int8`.
    Integer,
    /// Reals only: `float8`.
    Real,
    /// Integers and reals: `numeric`, each as an exact decimal string.
    Number,
    /// Text only: `text`.
    Text,
    /// Blobs only: `bytes`.
    Blob,
}

/// The SQLite storage classes, as bits of a set.
const INTEGER: u8 = 1;
const REAL: u8 = 2;
const TEXT: u8 = 4;
const BLOB: u8 = 8;

fn class(v: ValueRef<'_>) -> u8 {
    match v {
        ValueRef::Null => 0,
        ValueRef::Integer(_) => INTEGER,
        ValueRef::Real(_) => REAL,
        ValueRef::Text(_) => TEXT,
        ValueRef::Blob(_) => BLOB,
    }
}

/// Whether `v` is decoded as a value of declared type `d`.
fn fits(d: Declared, v: ValueRef<'_>) -> bool {
    match (d, v) {
        (_, ValueRef::Null)
        | (Declared::Integer, ValueRef::Integer(_))
        | (Declared::Real | Declared::Numeric, ValueRef::Integer(_) | ValueRef::Real(_))
        | (Declared::Text | Declared::DateText, ValueRef::Text(_))
        | (Declared::Blob, ValueRef::Blob(_))
        | (Declared::Bool, ValueRef::Integer(0 | 1)) => true,
        // Only JSON text is a JSON value; checked for syntax only, so no number is parsed.
        (Declared::Json, ValueRef::Text(t)) => serde_json::from_slice::<serde::de::IgnoredAny>(t).is_ok(),
        _ => false,
    }
}

/// Settles a column: its declared type when every value fits it; otherwise the type of the
/// values' storage class, integers and reals together as exact decimals. A column mixing text
/// or blobs with other classes has no type whose JSON form keeps them apart: `Err` names the
/// classes.
pub(crate) fn settle<'a>(
    d: Declared,
    values: impl Iterator<Item = ValueRef<'a>> + Clone,
) -> Result<Decoder, String> {
    if d != Declared::None && values.clone().all(|v| fits(d, v)) {
        return Ok(Decoder::Declared(d));
    }
    Ok(match values.fold(0u8, |acc, v| acc | class(v)) {
        0 | TEXT => Decoder::Text,
        INTEGER => Decoder::Integer,
        REAL => Decoder::Real,
        BLOB => Decoder::Blob,
        c if c == INTEGER | REAL => Decoder::Number,
        mixed => {
            let names: Vec<&str> = [(INTEGER, "integer"), (REAL, "real"), (TEXT, "text"), (BLOB, "blob")]
                .iter()
                .filter(|(bit, _)| mixed & bit != 0)
                .map(|(_, name)| *name)
                .collect();
            return Err(format!("a mix of SQLite storage classes ({})", names.join(", ")));
        }
    })
}

impl Decoder {
    /// The Sluice type name.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Decoder::Declared(Declared::Integer) | Decoder::Integer => "int8",
            Decoder::Declared(Declared::Real) | Decoder::Real => "float8",
            Decoder::Declared(Declared::Text | Declared::DateText | Declared::None) | Decoder::Text => "text",
            Decoder::Declared(Declared::Blob) | Decoder::Blob => "bytes",
            Decoder::Declared(Declared::Numeric) | Decoder::Number => "numeric",
            Decoder::Declared(Declared::Bool) => "bool",
            Decoder::Declared(Declared::Json) => "json",
        }
    }

    /// Decodes one value of a column settled as `self`.
    pub(crate) fn value(self, v: ValueRef<'_>) -> Result<Value, ExecError> {
        Ok(match (self, v) {
            (Decoder::Declared(Declared::Bool), ValueRef::Integer(i)) => Value::Bool(i == 1),
            (Decoder::Declared(Declared::Numeric) | Decoder::Number, ValueRef::Integer(i)) => {
                Value::Decimal(i.to_string())
            }
            (Decoder::Declared(Declared::Numeric) | Decoder::Number, ValueRef::Real(f)) => {
                Value::Decimal(decimal(f))
            }
            (Decoder::Declared(Declared::Real), ValueRef::Integer(i)) => {
                #[allow(clippy::cast_precision_loss)] // SQLite itself converts like this for REAL
                let f = i as f64;
                Value::Float(f)
            }
            // The text exactly as stored: never parsed, so numbers keep every digit.
            (Decoder::Declared(Declared::Json), ValueRef::Text(t)) => Value::Json(utf8(t)?),
            _ => by_class(v)?,
        })
    }
}

/// A real as an exact decimal string: Rust prints the shortest digits that read back as the
/// same double, without an exponent; infinities as `Infinity` / `-Infinity`.
fn decimal(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    f.to_string()
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
