//! Print, re-parse, compare: only text that means the analysed AST is ever forwarded.

use sqlparser::ast::Statement;

use super::modifiers::{self, Modifiers};
use super::parse::parse_one;
use super::{AnalyseError, Dialect};

/// Serialises `statement` and checks that the text parses back to the same statement.
///
/// sqlparser's `==` ignores source spans (`Ident` and `AttachedToken` compare by content), so
/// the AST comparison is exact; the printed texts are compared as well, which catches a node
/// whose printing is lossy in a way equality does not see.
pub(crate) fn verified_sql(
    dialect: Dialect,
    statement: &Statement,
    modifiers: Modifiers,
) -> Result<String, AnalyseError> {
    let sql = modifiers::print(statement, modifiers);
    let (reparsed, again) = parse_one(dialect, &sql).map_err(|_| AnalyseError::RoundTrip)?;
    if &reparsed != statement || again != modifiers || modifiers::print(&reparsed, again) != sql {
        return Err(AnalyseError::RoundTrip);
    }
    Ok(sql)
}
