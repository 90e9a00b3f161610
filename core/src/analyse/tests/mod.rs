//! The analyser's corpus: table-driven cases per dialect, and a fixpoint property over them.

mod mysql;
mod postgres;
mod shape;
mod sqlite;

use super::{
    Access, AnalyseError, Analysis, ColumnUsage, Dialect, RelationAccess, RelationName, StatementKind,
    analyse,
};

/// An accepted statement: its kind and its relations as `r:schema.t` / `w:t`.
pub(super) type Case = (&'static str, StatementKind, &'static [&'static str]);
/// A statement whose column uses are checked exactly: `usage:relation.column`, with usage one
/// of `p f j g o a` and relation `?` when unknown.
pub(super) type ColumnCase = (&'static str, &'static [&'static str]);
/// A refused statement and its error, as [`error_label`] writes it.
pub(super) type Refusal = (&'static str, &'static str);

fn relation(text: &str) -> RelationName {
    match text.rsplit_once('.') {
        Some((schema, name)) => RelationName { schema: Some(schema.into()), name: name.into() },
        None => RelationName { schema: None, name: text.into() },
    }
}

/// `["r:public.t", "w:orders"]` as sorted relation accesses.
pub(super) fn rels(specs: &[&str]) -> Vec<RelationAccess> {
    let mut out: Vec<RelationAccess> = specs
        .iter()
        .map(|spec| {
            let (mode, name) = spec.split_once(':').unwrap();
            let access = match mode {
                "r" => Access::Read,
                "w" => Access::Write,
                other => panic!("bad access {other}"),
            };
            RelationAccess { relation: relation(name), access }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn usage_letter(usage: ColumnUsage) -> &'static str {
    match usage {
        ColumnUsage::Projection => "p",
        ColumnUsage::Filter => "f",
        ColumnUsage::Join => "j",
        ColumnUsage::Grouping => "g",
        ColumnUsage::Ordering => "o",
        ColumnUsage::Assignment => "a",
    }
}

fn column_labels(analysis: &Analysis) -> Vec<String> {
    analysis
        .facts
        .columns
        .iter()
        .map(|c| {
            let relation = match &c.relation {
                Some(RelationName { schema: Some(s), name }) => format!("{s}.{name}"),
                Some(RelationName { schema: None, name }) => name.clone(),
                None => "?".into(),
            };
            format!("{}:{relation}.{}", usage_letter(c.usage), c.column)
        })
        .collect()
}

/// `parse`, `count:N`, `not_allowed:KIND`, `unsupported`, `roundtrip`.
pub(super) fn error_label(error: &AnalyseError) -> String {
    match error {
        AnalyseError::Parse(_) => "parse".into(),
        AnalyseError::StatementCount(n) => format!("count:{n}"),
        AnalyseError::NotAllowed(kind) => format!("not_allowed:{kind}"),
        AnalyseError::Unsupported(_) => "unsupported".into(),
        AnalyseError::RoundTrip => "roundtrip".into(),
    }
}

fn accepted(dialect: Dialect, sql: &str) -> Analysis {
    match analyse(dialect, sql) {
        Ok(analysis) => analysis,
        Err(error) => panic!("{dialect:?}: refused {sql:?}: {error:?}"),
    }
}

pub(super) fn check_cases(dialect: Dialect, cases: &[Case]) {
    for (sql, kind, expected) in cases {
        let analysis = accepted(dialect, sql);
        assert_eq!(analysis.facts.kind, *kind, "{dialect:?} kind of {sql:?}");
        assert_eq!(analysis.facts.relations, rels(expected), "{dialect:?} relations of {sql:?}");
        assert_fixpoint(dialect, &analysis);
    }
}

pub(super) fn check_columns(dialect: Dialect, cases: &[ColumnCase]) {
    for (sql, expected) in cases {
        let analysis = accepted(dialect, sql);
        let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        expected.sort();
        let mut actual = column_labels(&analysis);
        actual.sort();
        assert_eq!(actual, expected, "{dialect:?} columns of {sql:?}");
        assert_fixpoint(dialect, &analysis);
    }
}

pub(super) fn check_functions(dialect: Dialect, cases: &[(&str, &[&str])]) {
    for (sql, expected) in cases {
        let analysis = accepted(dialect, sql);
        assert_eq!(analysis.facts.functions, *expected, "{dialect:?} functions of {sql:?}");
    }
}

pub(super) fn check_placeholders(dialect: Dialect, cases: &[(&str, usize)]) {
    for (sql, expected) in cases {
        let analysis = accepted(dialect, sql);
        assert_eq!(analysis.facts.placeholders, *expected, "{dialect:?} placeholders of {sql:?}");
    }
}

pub(super) fn check_refusals(dialect: Dialect, cases: &[Refusal]) {
    for (sql, expected) in cases {
        match analyse(dialect, sql) {
            Ok(analysis) => panic!("{dialect:?}: accepted {sql:?} as {:?}", analysis.facts),
            Err(error) => assert_eq!(error_label(&error), *expected, "{dialect:?} {sql:?}: {error}"),
        }
    }
}

/// The property behind forwarding `analysis.sql`: analysing it again yields the same facts
/// and the same text.
fn assert_fixpoint(dialect: Dialect, analysis: &Analysis) {
    let again = accepted(dialect, &analysis.sql);
    assert_eq!(again.facts, analysis.facts, "{dialect:?} facts of re-analysed {:?}", analysis.sql);
    assert_eq!(again.sql, analysis.sql, "{dialect:?} text of re-analysed {:?}", analysis.sql);
}

/// Nesting far past the parser's recursion limit is a parse error, not a stack overflow.
#[test]
fn deep_nesting_is_refused_in_every_dialect() {
    for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
        let parens = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
        let subqueries = format!("SELECT * FROM {}t{}", "(SELECT * FROM ".repeat(500), ") AS x".repeat(500));
        let nots = format!("SELECT {}1", "NOT ".repeat(5000));
        let minus = format!("SELECT {}1", "- ".repeat(5000));
        for sql in [parens, subqueries, nots, minus] {
            let error = analyse(dialect, &sql).unwrap_err();
            assert_eq!(error_label(&error), "parse", "{dialect:?}: {error}");
        }
    }
}

/// A long flat chain is parsed iteratively but yields a deep AST; it must not overflow either.
#[test]
fn long_operator_chains_do_not_overflow() {
    for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
        for n in [20, 20_000] {
            let and_chain = format!("SELECT a FROM t WHERE {}", vec!["a = 1"; n].join(" AND "));
            let union_chain = vec!["SELECT a, b FROM t"; n].join(" UNION ");
            let cast_chain = format!("SELECT a{} FROM t", " || a".repeat(n));
            for sql in [and_chain, union_chain, cast_chain] {
                let result = analyse(dialect, &sql);
                if n == 20 {
                    assert!(result.is_ok(), "{dialect:?} {n}: {result:?}");
                } else {
                    assert_eq!(error_label(&result.unwrap_err()), "parse");
                }
            }
        }
    }
}

#[test]
fn errors_map_to_their_codes() {
    use crate::error::ErrorCode;
    assert_eq!(AnalyseError::Parse("x".into()).code(), ErrorCode::SqlParseError);
    assert_eq!(AnalyseError::StatementCount(2).code(), ErrorCode::SqlParseError);
    assert_eq!(AnalyseError::NotAllowed("SET".into()).code(), ErrorCode::StatementNotAllowed);
    assert_eq!(AnalyseError::Unsupported("x".into()).code(), ErrorCode::StatementNotAllowed);
    assert_eq!(AnalyseError::RoundTrip.code(), ErrorCode::StatementNotAllowed);
}

#[test]
fn parse_errors_are_capped() {
    let sql = format!("SELECT FROM WHERE {}", "x".repeat(10_000));
    match analyse(Dialect::Postgres, &sql) {
        Err(AnalyseError::Parse(message)) => assert!(message.len() < 260, "{message}"),
        other => panic!("{other:?}"),
    }
}
