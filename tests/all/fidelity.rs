//! Differential fidelity: for every type of each database, values at the edges (extremes, NULL,
//! empty, special values, non-ASCII, BC dates, huge numerics and JSON numbers, zero dates) are
//! written directly, then read both through Sluice and directly, and compared.
//!
//! The expected JSON is computed from the direct read, the database's own output (PostgreSQL's
//! and MariaDB's text protocol, rusqlite's values for SQLite), changed only in the ways the
//! README's "Typed results" documents (ISO 8601 dates, numbers as JSON numbers or exact strings,
//! bytes as base64, arrays as JSON arrays). Every test collects all mismatches before failing.

mod mysql;
mod pgtext;
mod postgres;
mod sqlite;

use serde_json::Value;

/// Compares one result read through Sluice with what the direct read says it must be: the
/// column type and every row.
pub fn compare(failures: &mut Vec<String>, what: &str, body: &Value, ty: &str, expected: &[Value]) {
    let got_type = body["columns"][0]["type"].as_str().unwrap_or("?");
    if got_type != ty {
        failures.push(format!("{what}: type {got_type}, expected {ty}"));
    }
    let got: Vec<Value> =
        body["rows"].as_array().map(|rows| rows.iter().map(|r| r[0].clone()).collect()).unwrap_or_default();
    if got.len() != expected.len() {
        failures.push(format!("{what}: {} rows, expected {}: {body}", got.len(), expected.len()));
        return;
    }
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        // Through the same JSON text and parser as the response: serde_json's float parsing
        // may be one unit off, so numbers compare equal exactly when their texts are equal.
        let e: Value = serde_json::from_str(&e.to_string()).unwrap();
        if *g != e {
            failures.push(format!("{what} row {i}: Sluice {g}, directly {e}"));
        }
    }
}

/// Fails with every mismatch, one per line.
pub fn assert_none(failures: &[String]) {
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// The OpenAPI document says how row values are encoded, JSON included.
#[tokio::test]
async fn openapi_describes_the_row_encoding() {
    let sluice = crate::harness::Sluice::with_datasource(crate::harness::SQLITE).await;
    let (_, doc) = sluice.get("/openapi.json").await;
    let rows = &doc["components"]["schemas"]["QueryResponse"]["properties"]["rows"]["description"];
    let text = rows.as_str().unwrap_or_default();
    assert!(text.contains("JSON text exactly as the database produced it"), "{rows}");
    assert!(text.contains("SQL NULL is always JSON null"), "{rows}");
}
