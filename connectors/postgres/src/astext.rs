//! Columns the server cannot send in binary (`aclitem`, `gtsvector`, and arrays and composites
//! holding them), asked for as the text PostgreSQL prints for them.
//!
//! `tokio-postgres` asks for every result column in binary, and these types have no binary
//! output function; with no binary input function either, the server cannot take them back to
//! print them ([`crate::decode`]'s server path). So the statement is prepared a second time,
//! wrapped so that those columns are cast to `text` (or `text[]` for arrays, elements and
//! dimensions kept), with the original parameter types; the other columns pass through as
//! they are, and the response keeps the original column names and types.
//!
//! - A read becomes `SELECT s."1", s."2"::pg_catalog.text FROM (<statement>) AS s("1", "2")`.
//!   Positional aliases keep duplicate or unnamed columns apart.
//! - A write (its `RETURNING` holds such a column) becomes the data-modifying CTE
//!   `WITH s("1", "2") AS (<statement>) SELECT s."1", s."2"::pg_catalog.text FROM s`, which
//!   PostgreSQL runs exactly once and to completion, as it runs the statement itself.
//!
//! Row order is the statement's: PostgreSQL never pulls a derived table with `ORDER BY`,
//! `LIMIT` or `DISTINCT` up into the outer query, and an outer query that only projects one
//! relation (no join, no aggregate, no `ORDER BY`) is a plain scan of it, so the rows come
//! out as the inner plan produces them; a derived table without those clauses is pulled up and
//! planned as the statement alone would be. A CTE scan reads the rows in the order the
//! data-modifying statement returned them. Each column is referenced once, so each expression
//! (a volatile function included) is evaluated as often as in the statement itself.
//!
//! What cannot be wrapped (a nested `WITH` holding a data-modifying statement, a view whose
//! rules PostgreSQL refuses inside `WITH`, `CALL`, `EXPLAIN`) fails when the wrapped statement is
//! prepared, before anything runs, and the column is refused.

use sluice_core::execute::Mode;
use tokio_postgres::types::Type;

/// How the server is asked to send one result column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ask {
    /// As the statement returns it, in binary.
    Binary,
    /// Cast to `text`: the text PostgreSQL prints for the value.
    Text,
    /// An array cast to `text[]`: the text of each element, dimensions kept.
    TextArray,
}

impl Ask {
    /// The type the server sends for a column of type `ty` asked for this way.
    pub(crate) fn sent_type(self, ty: &Type) -> Type {
        match self {
            Ask::Binary => ty.clone(),
            Ask::Text => Type::TEXT,
            Ask::TextArray => Type::TEXT_ARRAY,
        }
    }

    fn cast(self) -> &'static str {
        match self {
            Ask::Binary => "",
            Ask::Text => "::pg_catalog.text",
            Ask::TextArray => "::pg_catalog.text[]",
        }
    }
}

/// `sql` wrapped so that each column is sent as `asks` says (one entry per result column).
pub(crate) fn wrap(sql: &str, mode: Mode, asks: &[Ask]) -> String {
    let names: Vec<String> = (1..=asks.len()).map(|i| format!("\"{i}\"")).collect();
    let select: Vec<String> = names.iter().zip(asks).map(|(n, a)| format!("s.{n}{}", a.cast())).collect();
    let (select, names) = (select.join(", "), names.join(", "));
    // Line breaks around the statement: a trailing `--` comment cannot swallow the parenthesis.
    match mode {
        Mode::Read => format!("SELECT {select} FROM (\n{sql}\n) AS s({names})"),
        Mode::Write => format!("WITH s({names}) AS (\n{sql}\n) SELECT {select} FROM s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_become_a_derived_table_and_writes_a_cte() {
        let asks = [Ask::Binary, Ask::Text, Ask::TextArray];
        assert_eq!(
            wrap("SELECT 1, a, b FROM t", Mode::Read, &asks),
            "SELECT s.\"1\", s.\"2\"::pg_catalog.text, s.\"3\"::pg_catalog.text[] FROM (\n\
             SELECT 1, a, b FROM t\n) AS s(\"1\", \"2\", \"3\")"
        );
        assert_eq!(
            wrap("DELETE FROM t RETURNING a", Mode::Write, &[Ask::Text]),
            "WITH s(\"1\") AS (\nDELETE FROM t RETURNING a\n) SELECT s.\"1\"::pg_catalog.text FROM s"
        );
    }

    #[test]
    fn sent_types() {
        assert_eq!(Ask::Binary.sent_type(&Type::INT4), Type::INT4);
        assert_eq!(Ask::Text.sent_type(&Type::INT4), Type::TEXT);
        assert_eq!(Ask::TextArray.sent_type(&Type::INT4_ARRAY), Type::TEXT_ARRAY);
    }
}
