//! Dialect building blocks: literals and the handful of string functions masks are made of.

use super::MaskDialect;

/// `s` as a string literal for `dialect`. Quotes are doubled everywhere; MySQL also doubles
/// backslashes (with `NO_BACKSLASH_ESCAPES` off, the default, `\'` would end the literal early);
/// PostgreSQL uses an `E'…'` literal when a backslash is present, so the text means the same
/// whatever `standard_conforming_strings` says; SQL Server gets `N'…'` so non-ASCII text survives
/// the server's code page. NUL is refused: PostgreSQL text cannot hold it and the C-string APIs
/// of the others would cut the statement short.
pub(super) fn string_literal(dialect: MaskDialect, s: &str) -> Result<String, &'static str> {
    if s.contains('\0') {
        return Err("a literal cannot contain a NUL character");
    }
    Ok(dialect.rules().string_literal(s, &s.replace('\'', "''")))
}

/// `body` when `c` is not NULL, else NULL. Text masks are built from functions whose NULL
/// behaviour differs per dialect (SQLite's `zeroblob(NULL)` is an empty blob, `CONCAT` in SQL
/// Server treats NULL as ''), so NULL is passed through explicitly rather than by accident.
pub(super) fn unless_null(c: &str, body: &str) -> String {
    format!("CASE WHEN {c} IS NULL THEN NULL ELSE {body} END")
}

/// Lower-case hex of `bytes`.
pub(super) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
        out
    })
}
