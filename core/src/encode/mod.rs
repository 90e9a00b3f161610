//! Encoding: a [`ResultSet`] becomes typed JSON rows and column metadata.
//!
//! Each [`Value`] variant has exactly one JSON form (see its docs), chosen so that no value loses
//! precision in a JSON parser: 64-bit integers, exact numerics and JSON documents travel as
//! strings. The byte
//! limit is enforced here, on the encoded size of each row, because only here is it known.

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value as Json;
use utoipa::ToSchema;

use crate::execute::{ResultSet, Value};

/// How a row value is encoded, by the column's `type`; the OpenAPI description of
/// `QueryResponse.rows`. The README's "Typed results" table is the full list per database.
pub const ROW_VALUES: &str = "Rows of values in column order. SQL NULL is always JSON null. \
bool: true/false. int2, int4: number. int8, numeric, money: decimal string (exact). \
float4, float8: number, or \"NaN\", \"Infinity\", \"-Infinity\". text: string. \
bytes: standard base64 string. uuid: string. json: a string holding the JSON text exactly as \
the database produced it (parse it yourself; the JSON value null is the string \"null\"). \
date: \"YYYY-MM-DD\"; time: \"HH:MM:SS[.ffffff]\"; timetz: time plus \"+HH:MM\"; timestamp: \
\"YYYY-MM-DDTHH:MM:SS[.ffffff]\"; timestamptz: the same in UTC with \"Z\"; years outside \
0000-9999 in ISO 8601 expanded form, 1 BC as 0000. interval: ISO 8601 duration. T[]: JSON \
array of T's values. Any other type (ranges, geometric types, bit strings, network and text \
search types, records...) is named by the database's type name and travels as the string the \
database itself prints for it.";

/// Column metadata in a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ColumnMeta {
    /// Column name.
    pub name: String,
    /// Sluice's normalised type name (`int8`, `text`, `timestamptz`, `int4[]`, ...).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Whether a policy masked this column's values.
    pub masked: bool,
    /// The mask applied, when `masked`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask: Option<String>,
}

/// An encoded result.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// Column metadata, in result order.
    pub columns: Vec<ColumnMeta>,
    /// Rows of typed JSON values.
    pub rows: Vec<Vec<Json>>,
    /// True when rows were left out: by the connector's row limit or by `max_bytes` here.
    pub truncated: bool,
    /// The command tag.
    pub command: String,
    /// Rows affected by a write.
    pub rows_affected: Option<u64>,
}

/// Encodes `result`, keeping whole rows while their encoded size stays within `max_bytes`.
pub fn encode(result: ResultSet, max_bytes: usize) -> Encoded {
    let columns = result
        .columns
        .into_iter()
        .map(|c| ColumnMeta { name: c.name, type_name: c.type_name, masked: false, mask: None })
        .collect();
    let mut truncated = result.truncated;
    let mut rows = Vec::with_capacity(result.rows.len());
    let mut size = 0usize;
    for row in result.rows {
        let row: Vec<Json> = row.into_iter().map(value_to_json).collect();
        size = size.saturating_add(encoded_len(&row));
        if size > max_bytes {
            truncated = true;
            break;
        }
        rows.push(row);
    }
    Encoded { columns, rows, truncated, command: result.command, rows_affected: result.rows_affected }
}

/// The JSON form of one value.
pub fn value_to_json(value: Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(b),
        Value::Int(i) => Json::from(i),
        Value::Int8(i) => Json::String(i.to_string()),
        Value::UInt8(u) => Json::String(u.to_string()),
        Value::Float(f) => float_to_json(f),
        Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Array(items) => Json::Array(items.into_iter().map(value_to_json).collect()),
        Value::Decimal(s)
        | Value::Json(s)
        | Value::Text(s)
        | Value::Uuid(s)
        | Value::Date(s)
        | Value::Time(s)
        | Value::Timestamp(s)
        | Value::TimestampTz(s)
        | Value::Interval(s) => Json::String(s),
    }
}

fn float_to_json(f: f64) -> Json {
    // JSON has no NaN or infinities; PostgreSQL's own spellings keep them distinguishable.
    match serde_json::Number::from_f64(f) {
        Some(n) => Json::Number(n),
        None if f.is_nan() => Json::String("NaN".into()),
        None if f > 0.0 => Json::String("Infinity".into()),
        None => Json::String("-Infinity".into()),
    }
}

/// The length of `row` serialised as JSON, without allocating the text.
fn encoded_len(row: &[Json]) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing plain JSON values into a counter cannot fail; a failure would only undercount.
    let _ = serde_json::to_writer(&mut count, row);
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::Column;
    use serde_json::json;

    #[test]
    fn every_variant_has_its_documented_form() {
        let cases = [
            (Value::Null, json!(null)),
            (Value::Bool(true), json!(true)),
            (Value::Int(-7), json!(-7)),
            (Value::Int8(i64::MAX), json!("9223372036854775807")),
            (Value::UInt8(u64::MAX), json!("18446744073709551615")),
            (Value::Float(1.5), json!(1.5)),
            (Value::Float(f64::NAN), json!("NaN")),
            (Value::Float(f64::NEG_INFINITY), json!("-Infinity")),
            (Value::Decimal("12345678901234567890.000001".into()), json!("12345678901234567890.000001")),
            (Value::Bytes(vec![0, 255, 1]), json!("AP8B")),
            // JSON travels as its text, so `1e400` keeps every digit and `null` stays a string.
            (Value::Json("[1e400, 0.1]".into()), json!("[1e400, 0.1]")),
            (Value::Json("null".into()), json!("null")),
            (Value::Array(vec![Value::Int(1), Value::Null]), json!([1, null])),
            (Value::TimestampTz("2024-01-02T03:04:05Z".into()), json!("2024-01-02T03:04:05Z")),
        ];
        for (value, expected) in cases {
            assert_eq!(value_to_json(value), expected);
        }
    }

    #[test]
    fn byte_limit_keeps_whole_rows_and_flags_truncation() {
        let result = ResultSet {
            columns: vec![Column { name: "t".into(), type_name: "text".into() }],
            rows: (0..10).map(|_| vec![Value::Text("x".repeat(100))]).collect(),
            truncated: false,
            command: "SELECT".into(),
            rows_affected: None,
        };
        let encoded = encode(result.clone(), 350);
        assert_eq!(encoded.rows.len(), 3);
        assert!(encoded.truncated);
        let encoded = encode(result, 1 << 20);
        assert_eq!(encoded.rows.len(), 10);
        assert!(!encoded.truncated);
    }
}
