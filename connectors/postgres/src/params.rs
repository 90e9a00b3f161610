//! JSON parameters -> PostgreSQL wire values, by the type the server inferred for each
//! placeholder when it prepared the statement.
//!
//! Every value is converted and checked here, before anything is sent, so a bad parameter is a
//! [`ExecError::Param`] naming its position rather than a server error. Types whose binary form
//! depends on server settings or is intricate (numeric, money, interval, inet, enums) travel in
//! text form after a syntax check, which `ToSql::encode_format` allows per parameter.

use base64::Engine as _;
use bytes::BytesMut;
use serde_json::Value as Json;
use sluice_core::execute::ExecError;
use tokio_postgres::types::{Format, IsNull, ToSql, Type, to_sql_checked};

use crate::datetime;
use crate::numeric::is_decimal;
use crate::types::{Scalar, Shape, shape};

/// One parameter, already encoded for the wire.
#[derive(Debug)]
pub(crate) struct Encoded {
    format: Format,
    bytes: Option<Vec<u8>>,
}

impl ToSql for Encoded {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.bytes {
            None => Ok(IsNull::Yes),
            Some(bytes) => {
                out.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
        }
    }

    // The value was checked against the inferred type when it was encoded.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        self.format
    }

    to_sql_checked!();
}

/// Encodes `values` for a statement whose placeholders have `types`.
pub(crate) fn encode_all(types: &[Type], values: &[Json]) -> Result<Vec<Encoded>, ExecError> {
    if types.len() != values.len() {
        return Err(ExecError::Param {
            index: types.len().min(values.len()) + 1,
            message: format!(
                "the statement has {} placeholder(s) but {} parameter(s) were given",
                types.len(),
                values.len()
            ),
        });
    }
    types
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, (ty, v))| encode(ty, v).map_err(|message| ExecError::Param { index: i + 1, message }))
        .collect()
}

fn encode(ty: &Type, value: &Json) -> Result<Encoded, String> {
    let unsupported =
        || format!("placeholders of type {} are not supported; cast it, e.g. $1::text", ty.name());
    if value.is_null() {
        return Ok(Encoded { format: Format::Binary, bytes: None });
    }
    match shape(ty).ok_or_else(unsupported)? {
        Shape::Scalar(s) => {
            let (format, bytes) = scalar(s, value)?;
            Ok(Encoded { format, bytes: Some(bytes) })
        }
        Shape::Array(s) => {
            let Kind::Array(elem) = array_elem(ty) else {
                return Err(unsupported());
            };
            array(s, &elem, value)
        }
    }
}

/// The element type of an array type, seeing through domains over arrays.
enum Kind {
    Array(Type),
    Other,
}

fn array_elem(ty: &Type) -> Kind {
    match ty.kind() {
        tokio_postgres::types::Kind::Array(elem) => Kind::Array(elem.clone()),
        tokio_postgres::types::Kind::Domain(base) => array_elem(base),
        _ => Kind::Other,
    }
}

fn text_form(s: Scalar) -> bool {
    matches!(s, Scalar::Numeric | Scalar::Money | Scalar::Interval | Scalar::Inet)
}

fn array(s: Scalar, elem: &Type, value: &Json) -> Result<Encoded, String> {
    let Json::Array(items) = value else {
        return Err("expected a JSON array".into());
    };
    let mut encoded = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let e = match item {
            Json::Null => None,
            Json::Array(_) => return Err("nested arrays are not supported".into()),
            _ => Some(scalar(s, item).map_err(|m| format!("element {}: {m}", i + 1))?.1),
        };
        encoded.push(e);
    }
    if text_form(s) {
        // Text array literal: every element quoted, so no value can be read as a delimiter.
        let mut out = Vec::from(*b"{");
        for (i, e) in encoded.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match e {
                None => out.extend_from_slice(b"NULL"),
                Some(bytes) => {
                    out.push(b'"');
                    for &b in bytes {
                        if b == b'"' || b == b'\\' {
                            out.push(b'\\');
                        }
                        out.push(b);
                    }
                    out.push(b'"');
                }
            }
        }
        out.push(b'}');
        return Ok(Encoded { format: Format::Text, bytes: Some(out) });
    }
    let len = i32::try_from(encoded.len()).map_err(|_| "array too long")?;
    let mut out = Vec::new();
    out.extend(1i32.to_be_bytes()); // dimensions
    out.extend(i32::from(encoded.iter().any(Option::is_none)).to_be_bytes());
    out.extend(elem.oid().to_be_bytes());
    out.extend(len.to_be_bytes());
    out.extend(1i32.to_be_bytes()); // lower bound
    for e in encoded {
        match e {
            None => out.extend((-1i32).to_be_bytes()),
            Some(bytes) => {
                let n = i32::try_from(bytes.len()).map_err(|_| "array element too large")?;
                out.extend(n.to_be_bytes());
                out.extend(bytes);
            }
        }
    }
    Ok(Encoded { format: Format::Binary, bytes: Some(out) })
}

fn as_str<'a>(value: &'a Json, what: &str) -> Result<&'a str, String> {
    value.as_str().ok_or_else(|| format!("expected {what} as a JSON string, got {}", kind(value)))
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// An integer from a JSON integer or a decimal string (int8 results are strings in JSON).
fn integer(value: &Json) -> Result<i64, String> {
    match value {
        Json::Number(n) => n.as_i64().ok_or_else(|| format!("{n} is not a 64-bit integer")),
        Json::String(s) => s.trim().parse().map_err(|_| format!("{s:?} is not an integer")),
        other => Err(format!("expected an integer, got {}", kind(other))),
    }
}

fn float(value: &Json) -> Result<f64, String> {
    match value {
        Json::Number(n) => n.as_f64().ok_or_else(|| format!("{n} is not a number")),
        Json::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ if is_decimal(s, false) => s.parse().map_err(|_| format!("{s:?} is not a number")),
            _ => Err(format!("{s:?} is not a number")),
        },
        other => Err(format!("expected a number, got {}", kind(other))),
    }
}

fn decimal(value: &Json, allow_special: bool) -> Result<Vec<u8>, String> {
    let text = match value {
        Json::Number(n) => n.to_string(),
        Json::String(s) => s.trim().to_owned(),
        other => {
            return Err(format!("expected a decimal number or string, got {}", kind(other)));
        }
    };
    if is_decimal(&text, allow_special) {
        Ok(text.into_bytes())
    } else {
        Err(format!("{text:?} is not a decimal number"))
    }
}

fn ranged<T: TryFrom<i64>>(n: i64, ty: &str) -> Result<T, String> {
    T::try_from(n).map_err(|_| format!("{n} is out of range for {ty}"))
}

fn scalar(s: Scalar, value: &Json) -> Result<(Format, Vec<u8>), String> {
    let binary = |bytes: Vec<u8>| Ok((Format::Binary, bytes));
    match s {
        Scalar::Bool => match value {
            Json::Bool(b) => binary(vec![u8::from(*b)]),
            other => Err(format!("expected a boolean, got {}", kind(other))),
        },
        Scalar::Int2 => binary(ranged::<i16>(integer(value)?, "int2")?.to_be_bytes().to_vec()),
        Scalar::Int4 => binary(ranged::<i32>(integer(value)?, "int4")?.to_be_bytes().to_vec()),
        Scalar::Int8 => binary(integer(value)?.to_be_bytes().to_vec()),
        Scalar::Oid => binary(ranged::<u32>(integer(value)?, "oid")?.to_be_bytes().to_vec()),
        Scalar::Float4 => {
            let f = float(value)?;
            #[allow(clippy::cast_possible_truncation)] // float4 is the column's declared precision
            let narrowed = f as f32;
            if f.is_finite() && !narrowed.is_finite() {
                return Err(format!("{f} is out of range for float4"));
            }
            binary(narrowed.to_be_bytes().to_vec())
        }
        Scalar::Float8 => binary(float(value)?.to_be_bytes().to_vec()),
        Scalar::Numeric => Ok((Format::Text, decimal(value, true)?)),
        Scalar::Money => Ok((Format::Text, decimal(value, false)?)),
        Scalar::Text | Scalar::Char => binary(as_str(value, "text")?.as_bytes().to_vec()),
        Scalar::Bytea => base64::engine::general_purpose::STANDARD
            .decode(as_str(value, "bytes (base64)")?)
            .map(|b| (Format::Binary, b))
            .map_err(|e| format!("expected standard base64: {e}")),
        Scalar::Uuid => {
            let s = as_str(value, "a uuid")?;
            let uuid = uuid::Uuid::parse_str(s).map_err(|e| format!("{s:?} is not a uuid: {e}"))?;
            binary(uuid.as_bytes().to_vec())
        }
        Scalar::Json => binary(value.to_string().into_bytes()),
        Scalar::Jsonb => {
            let mut bytes = vec![1u8]; // jsonb binary format version
            bytes.extend(value.to_string().into_bytes());
            binary(bytes)
        }
        Scalar::Date => binary(datetime::parse_date(as_str(value, "a date")?)?.to_be_bytes().to_vec()),
        Scalar::Time => binary(datetime::parse_time(as_str(value, "a time")?)?.to_be_bytes().to_vec()),
        Scalar::Timestamp => {
            let micros = datetime::parse_timestamp(as_str(value, "a timestamp")?)?;
            binary(micros.to_be_bytes().to_vec())
        }
        Scalar::TimestampTz => {
            let micros = datetime::parse_timestamptz(as_str(value, "a timestamp")?)?;
            binary(micros.to_be_bytes().to_vec())
        }
        // PostgreSQL parses these itself (ISO 8601 or its own interval syntax; IPv4/IPv6 with
        // optional prefix); a malformed value is then an upstream 22xxx error.
        Scalar::Interval | Scalar::Inet => Ok((Format::Text, as_str(value, "a string")?.as_bytes().to_vec())),
        Scalar::Void => Err("void placeholders take only null".into()),
    }
}
