//! PostgreSQL binary result values -> [`Value`], by column type.
//!
//! Rows are read through [`Raw`], a `FromSql` that accepts every type and hands over the bytes,
//! so decoding never depends on `tokio-postgres`' own conversions (which reject `infinity`
//! timestamps and have no exact NUMERIC).

use sluice_core::execute::{Column, ExecError, Value};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Type};

use crate::datetime::{format_date, format_interval, format_time, format_timestamp};
use crate::numeric::{decode_money, decode_numeric};
use crate::types::{Scalar, Shape, shape};

/// The undecoded bytes of one value.
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// Result columns and how to decode each; fails before execution if any type is unsupported.
pub(crate) fn columns(cols: &[tokio_postgres::Column]) -> Result<(Vec<Column>, Vec<Shape>), ExecError> {
    let mut columns = Vec::with_capacity(cols.len());
    let mut shapes = Vec::with_capacity(cols.len());
    for col in cols {
        let s = shape(col.type_()).ok_or_else(|| ExecError::UnsupportedType {
            column: col.name().to_owned(),
            type_name: col.type_().name().to_owned(),
        })?;
        columns.push(Column { name: col.name().to_owned(), type_name: s.name() });
        shapes.push(s);
    }
    Ok((columns, shapes))
}

/// Decodes one row.
pub(crate) fn row(row: &Row, columns: &[Column], shapes: &[Shape]) -> Result<Vec<Value>, ExecError> {
    let mut values = Vec::with_capacity(shapes.len());
    for (i, (s, col)) in shapes.iter().zip(columns).enumerate() {
        let bad = || ExecError::UnsupportedType {
            column: col.name.clone(),
            type_name: format!("{} (undecodable value)", col.type_name),
        };
        let raw: Option<Raw<'_>> = row.try_get(i).map_err(|_| bad())?;
        let value = match (raw, s) {
            (None, _) => Value::Null,
            (Some(Raw(bytes)), Shape::Scalar(s)) => scalar(*s, bytes).ok_or_else(bad)?,
            (Some(Raw(bytes)), Shape::Array(s)) => array(*s, bytes).ok_or_else(bad)?,
        };
        values.push(value);
    }
    Ok(values)
}

fn fixed<const N: usize>(raw: &[u8]) -> Option<[u8; N]> {
    raw.try_into().ok()
}

fn scalar(s: Scalar, raw: &[u8]) -> Option<Value> {
    let text = || String::from_utf8(raw.to_vec()).ok();
    Some(match s {
        Scalar::Bool => Value::Bool(*raw.first()? != 0),
        Scalar::Int2 => Value::Int(i16::from_be_bytes(fixed(raw)?).into()),
        Scalar::Int4 => Value::Int(i32::from_be_bytes(fixed(raw)?).into()),
        Scalar::Int8 => Value::Int8(i64::from_be_bytes(fixed(raw)?)),
        Scalar::Oid => Value::Int8(u32::from_be_bytes(fixed(raw)?).into()),
        // Via the shortest decimal that reads back as the same f32, so 0.1::float4 is 0.1 and
        // not 0.10000000149011612.
        Scalar::Float4 => {
            let f = f32::from_be_bytes(fixed(raw)?);
            Value::Float(if f.is_finite() { f.to_string().parse().ok()? } else { f64::from(f) })
        }
        Scalar::Float8 => Value::Float(f64::from_be_bytes(fixed(raw)?)),
        Scalar::Numeric => Value::Decimal(decode_numeric(raw)?),
        Scalar::Money => Value::Decimal(decode_money(i64::from_be_bytes(fixed(raw)?))),
        Scalar::Text | Scalar::Char => Value::Text(text()?),
        Scalar::Bytea => Value::Bytes(raw.to_vec()),
        Scalar::Uuid => Value::Uuid(uuid::Uuid::from_bytes(fixed(raw)?).hyphenated().to_string()),
        Scalar::Json => Value::Json(serde_json::from_slice(raw).ok()?),
        Scalar::Jsonb => match raw.split_first()? {
            (1, body) => Value::Json(serde_json::from_slice(body).ok()?),
            _ => return None,
        },
        Scalar::Date => Value::Date(format_date(i32::from_be_bytes(fixed(raw)?))),
        Scalar::Time => Value::Time(format_time(i64::from_be_bytes(fixed(raw)?))),
        Scalar::Timestamp => Value::Timestamp(format_timestamp(i64::from_be_bytes(fixed(raw)?), false)),
        Scalar::TimestampTz => Value::TimestampTz(format_timestamp(i64::from_be_bytes(fixed(raw)?), true)),
        Scalar::Interval => {
            let b: [u8; 16] = fixed(raw)?;
            let (usecs, rest) = b.split_first_chunk::<8>()?;
            let (days, months) = rest.split_first_chunk::<4>()?;
            Value::Interval(format_interval(
                i32::from_be_bytes(fixed(months)?),
                i32::from_be_bytes(*days),
                i64::from_be_bytes(*usecs),
            ))
        }
        Scalar::Inet => Value::Text(inet(raw)?),
        Scalar::Void => Value::Null,
    })
}

/// inet / cidr: family, prefix bits, is-cidr flag, address length, address; printed the way
/// PostgreSQL prints them (inet omits a full-length prefix, cidr always shows it).
fn inet(raw: &[u8]) -> Option<String> {
    let (&[family, bits, is_cidr, len], addr) = raw.split_first_chunk::<4>()?;
    if usize::from(len) != addr.len() {
        return None;
    }
    let (ip, full): (std::net::IpAddr, u8) = match family {
        2 => (std::net::Ipv4Addr::from(fixed::<4>(addr)?).into(), 32),
        3 => (std::net::Ipv6Addr::from(fixed::<16>(addr)?).into(), 128),
        _ => return None,
    };
    Some(if is_cidr == 0 && bits == full { ip.to_string() } else { format!("{ip}/{bits}") })
}

fn i32_at(raw: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(fixed(raw.get(at..at + 4)?)?))
}

/// A binary array: dimensions, null flag, element OID, (length, lower bound) per dimension, then
/// length-prefixed elements in row-major order. Lower bounds are dropped; multi-dimensional
/// arrays become nested arrays.
fn array(s: Scalar, raw: &[u8]) -> Option<Value> {
    let ndim = usize::try_from(i32_at(raw, 0)?).ok()?;
    if ndim == 0 {
        return Some(Value::Array(Vec::new()));
    }
    let dims: Vec<usize> =
        (0..ndim).map(|d| usize::try_from(i32_at(raw, 12 + 8 * d)?).ok()).collect::<Option<_>>()?;
    let mut at = 12 + 8 * ndim;
    let total = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))?;
    let mut flat = Vec::with_capacity(total.min(raw.len()));
    for _ in 0..total {
        let len = i32_at(raw, at)?;
        at += 4;
        if len < 0 {
            flat.push(Value::Null);
        } else {
            let len = usize::try_from(len).ok()?;
            flat.push(scalar(s, raw.get(at..at + len)?)?);
            at += len;
        }
    }
    Some(nest(&dims, &mut flat.into_iter()))
}

fn nest(dims: &[usize], flat: &mut impl Iterator<Item = Value>) -> Value {
    match dims.split_first() {
        None => flat.next().unwrap_or(Value::Null),
        Some((&n, [])) => Value::Array(flat.take(n).collect()),
        Some((&n, rest)) => Value::Array((0..n).map(|_| nest(rest, flat)).collect()),
    }
}
