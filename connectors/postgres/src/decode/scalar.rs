//! Scalars with a JSON form of their own: numbers, booleans, strings, base64 bytes, JSON text,
//! ISO 8601 dates and times.

use sluice_core::execute::Value;

use super::text::{char_text, inet, jsonb};
use super::wire::Reader;
use crate::datetime::{format_date, format_interval, format_time, format_timestamp};
use crate::numeric::{decode_money, decode_numeric};
use crate::types::Scalar;

/// The JSON form of a scalar value; `None` when its bytes are malformed. `money_digits`: the
/// fraction digits of money (see [`decode_money`]).
pub(crate) fn value(s: Scalar, raw: &[u8], money_digits: u32) -> Option<Value> {
    let mut r = Reader::new(raw);
    let value = match s {
        Scalar::Bool => Value::Bool(r.u8()? != 0),
        Scalar::Int2 => Value::Int(r.i16()?.into()),
        Scalar::Int4 => Value::Int(r.i32()?.into()),
        Scalar::Int8 => Value::Int8(r.i64()?),
        Scalar::Oid => Value::Int8(r.u32()?.into()),
        // Via the shortest decimal that reads back as the same f32, so 0.1::float4 is 0.1 and
        // not 0.10000000149011612.
        Scalar::Float4 => {
            let f = f32::from_bits(r.u32()?);
            Value::Float(if f.is_finite() { f.to_string().parse().ok()? } else { f64::from(f) })
        }
        Scalar::Float8 => Value::Float(r.f64()?),
        Scalar::Numeric => Value::Decimal(decode_numeric(r.rest())?),
        Scalar::Money => Value::Decimal(decode_money(r.i64()?, money_digits)),
        Scalar::Text => Value::Text(String::from_utf8(r.rest().to_vec()).ok()?),
        Scalar::Char => Value::Text(char_text(r.u8()?)),
        Scalar::Bytea => Value::Bytes(r.rest().to_vec()),
        Scalar::Uuid => {
            Value::Uuid(uuid::Uuid::from_bytes(r.take(16)?.try_into().ok()?).hyphenated().to_string())
        }
        // The text as the server sent it: json verbatim, jsonb canonical. Never parsed, so
        // numbers keep every digit.
        Scalar::Json => Value::Json(String::from_utf8(r.rest().to_vec()).ok()?),
        Scalar::Jsonb => Value::Json(jsonb(r.rest())?),
        Scalar::Date => Value::Date(format_date(r.i32()?)),
        Scalar::Time => Value::Time(format_time(r.i64()?)),
        Scalar::Timestamp => Value::Timestamp(format_timestamp(r.i64()?, false)),
        Scalar::TimestampTz => Value::TimestampTz(format_timestamp(r.i64()?, true)),
        Scalar::Interval => {
            let usecs = r.i64()?;
            let days = r.i32()?;
            Value::Interval(format_interval(r.i32()?, days, usecs))
        }
        Scalar::Inet => Value::Text(inet(r.rest())?),
        Scalar::Void => Value::Null,
    };
    r.done().then_some(value)
}
