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
    let quoted = s.replace('\'', "''");
    Ok(match dialect {
        MaskDialect::Postgres if s.contains('\\') => format!("E'{}'", quoted.replace('\\', "\\\\")),
        MaskDialect::Postgres | MaskDialect::Sqlite => format!("'{quoted}'"),
        MaskDialect::MySql => format!("'{}'", quoted.replace('\\', "\\\\")),
        MaskDialect::MsSql => format!("N'{quoted}'"),
    })
}

/// The number of characters in `c`. SQL Server's `LEN` ignores trailing spaces, so a sentinel
/// character is appended and subtracted: masks must keep the real length.
pub(super) fn char_len(dialect: MaskDialect, c: &str) -> String {
    match dialect {
        MaskDialect::Postgres => format!("char_length({c})"),
        MaskDialect::MySql => format!("CHAR_LENGTH({c})"),
        MaskDialect::Sqlite => format!("length({c})"),
        MaskDialect::MsSql => format!("(LEN({c} + N'x') - 1)"),
    }
}

/// `n` asterisks, `n` an integer expression. SQLite has no `repeat`: a zero blob of `n` bytes
/// is `2n` hex zeros, and each `00` pair becomes one `*`.
pub(super) fn stars(dialect: MaskDialect, n: &str) -> String {
    match dialect {
        MaskDialect::Postgres => format!("repeat('*', {n})"),
        MaskDialect::MySql => format!("REPEAT('*', {n})"),
        MaskDialect::Sqlite => format!("replace(hex(zeroblob({n})), '00', '*')"),
        // Without the cast REPLICATE stops at 4000 characters.
        MaskDialect::MsSql => format!("REPLICATE(CAST(N'*' AS NVARCHAR(MAX)), {n})"),
    }
}

/// The first `n` characters of `c`.
pub(super) fn left(dialect: MaskDialect, c: &str, n: u32) -> String {
    match dialect {
        MaskDialect::Postgres => format!("left({c}, {n})"),
        MaskDialect::MySql | MaskDialect::MsSql => format!("LEFT({c}, {n})"),
        MaskDialect::Sqlite => format!("substr({c}, 1, {n})"),
    }
}

/// The last `n` characters of `c`. SQLite's `substr(c, -n)` would return the whole string for
/// `n = 0`, hence the explicit start position.
pub(super) fn right(dialect: MaskDialect, c: &str, n: u32) -> String {
    match dialect {
        MaskDialect::Postgres => format!("right({c}, {n})"),
        MaskDialect::MySql | MaskDialect::MsSql => format!("RIGHT({c}, {n})"),
        MaskDialect::Sqlite => format!("substr({c}, length({c}) - {n} + 1)"),
    }
}

/// The characters of `c` after its first `@`.
pub(super) fn after_at(dialect: MaskDialect, c: &str) -> String {
    match dialect {
        MaskDialect::Postgres => format!("substr({c}, strpos({c}, '@') + 1)"),
        MaskDialect::MySql => format!("SUBSTRING({c}, LOCATE('@', {c}) + 1)"),
        MaskDialect::Sqlite => format!("substr({c}, instr({c}, '@') + 1)"),
        MaskDialect::MsSql => format!("SUBSTRING({c}, CHARINDEX('@', {c}) + 1, LEN({c} + N'x'))"),
    }
}

/// String concatenation. MySQL's `||` is logical OR by default, so it gets `CONCAT`; SQL
/// Server's `+` would also add numbers, `CONCAT` says what is meant.
pub(super) fn concat(dialect: MaskDialect, parts: &[&str]) -> String {
    match dialect {
        MaskDialect::Postgres | MaskDialect::Sqlite => parts.join(" || "),
        MaskDialect::MySql | MaskDialect::MsSql => format!("CONCAT({})", parts.join(", ")),
    }
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
