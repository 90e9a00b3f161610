//! The facts the analyser establishes about a statement: what policy (plugins) and audit see.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sqlparser::ast::{ObjectName, Statement};

/// The coarse kind of a statement, which datasources allow or refuse as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum StatementKind {
    /// SELECT, VALUES, TABLE and other queries without side effects.
    Read,
    /// INSERT (including INSERT ... SELECT).
    Insert,
    /// UPDATE.
    Update,
    /// DELETE.
    Delete,
    /// Schema changes: CREATE, ALTER, DROP, TRUNCATE, ...
    Ddl,
    /// Statements that are neither of the above but harmless to forward when allowed
    /// (EXPLAIN, SHOW, DESCRIBE, ...).
    Other,
}

impl StatementKind {
    /// The kind's name in configuration (`statements = [...]`) and in facts.
    pub fn name(self) -> &'static str {
        match self {
            StatementKind::Read => "read",
            StatementKind::Insert => "insert",
            StatementKind::Update => "update",
            StatementKind::Delete => "delete",
            StatementKind::Ddl => "ddl",
            StatementKind::Other => "other",
        }
    }

    /// The operation's name in telemetry (`db.operation.name`): the SQL verb, or `DDL` /
    /// `OTHER` for kinds that span several.
    pub fn operation_name(self) -> &'static str {
        match self {
            StatementKind::Read => "SELECT",
            StatementKind::Insert => "INSERT",
            StatementKind::Update => "UPDATE",
            StatementKind::Delete => "DELETE",
            StatementKind::Ddl => "DDL",
            StatementKind::Other => "OTHER",
        }
    }
}

/// A relation (table or view) name, normalised with the dialect's case rules: unquoted parts
/// folded as the database folds them, quoted parts kept exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RelationName {
    /// The schema (or database, in MySQL) when the statement names one.
    pub schema: Option<String>,
    /// The relation's own name.
    pub name: String,
}

/// `schema.name`, or `name` without a schema: how messages name a relation.
impl std::fmt::Display for RelationName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// How a statement touches a relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Rows are read.
    Read,
    /// Rows are inserted, updated or deleted, or the relation's definition changes.
    Write,
}

/// One relation the statement touches, once per access mode.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RelationAccess {
    /// The relation, as resolved (CTE names never appear here).
    pub relation: RelationName,
    /// Read or write.
    pub access: Access,
}

/// Where in a statement a column is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnUsage {
    /// In the select list or RETURNING.
    Projection,
    /// In WHERE, HAVING, QUALIFY.
    Filter,
    /// In a JOIN condition.
    Join,
    /// In GROUP BY.
    Grouping,
    /// In ORDER BY.
    Ordering,
    /// The target or the source of an assignment (UPDATE SET, INSERT column list).
    Assignment,
}

/// One use of a column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ColumnUse {
    /// The relation the column belongs to, when the resolver can tell without the catalog
    /// (qualified by a table or alias, or the only relation in scope).
    pub relation: Option<RelationName>,
    /// The column's normalised name.
    pub column: String,
    /// Where it is used.
    pub usage: ColumnUsage,
}

/// Everything the analyser established about one statement. Plain, serialisable data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementFacts {
    /// The statement's kind.
    pub kind: StatementKind,
    /// Relations touched, sorted, each (relation, access) pair once.
    pub relations: Vec<RelationAccess>,
    /// Column uses, sorted and de-duplicated.
    pub columns: Vec<ColumnUse>,
    /// Functions called, normalised (lower-case, schema-qualified when written so), sorted, once each.
    pub functions: Vec<String>,
    /// UPDATE / DELETE targets written without a restricting WHERE: none at all, or one that
    /// does not depend on the target's columns (`WHERE 1=1`, `WHERE id = id OR true`).
    pub unrestricted_writes: Vec<RelationName>,
    /// The outermost query's literal row limit (`LIMIT`, `FETCH FIRST`, `TOP`), if any.
    pub limit: Option<u64>,
    /// Hex SHA-256 of the statement with every literal replaced by a placeholder.
    pub fingerprint: String,
    /// How many positional parameters the statement expects.
    pub placeholders: usize,
}

/// A table reference's position in the statement text: its name's first token, as
/// `(line, column)`. Unique per reference, so it identifies the AST node the resolver judged.
pub type RefPosition = (u64, u64);

/// Where the statement names base relations: what the rewrite stage needs to replace exactly the
/// references the resolver judged to be tables (never a CTE of the same name).
#[derive(Debug, Clone, Default)]
pub struct References {
    /// FROM items naming a base relation, by position.
    pub reads: BTreeMap<RefPosition, RelationName>,
    /// Positions of data-modifying statements' targets, which are written in place.
    pub targets: BTreeSet<RefPosition>,
    /// Relations read other than through a FROM item (`TABLE t`, DDL and SHOW arguments): they
    /// cannot be wrapped, so a protected one must be refused.
    pub unwrappable: BTreeSet<RelationName>,
    /// Every select-list and FROM-item alias, normalised: MySQL lets HAVING name select-list
    /// aliases, PostgreSQL reads a FROM item's name as its whole row, so a column use of such a
    /// name may not be a column at all.
    pub output_aliases: BTreeSet<String>,
}

impl References {
    /// The position of a table reference's name, or `None` for a synthesised name.
    pub fn position(name: &ObjectName) -> Option<RefPosition> {
        let span = name.0.first()?.as_ident()?.span;
        (span.start.line > 0).then_some((span.start.line, span.start.column))
    }
}

/// The analyser's output: the facts, the verified AST, and the exact text to send.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// What the statement does.
    pub facts: StatementFacts,
    /// Where base relations are referenced in `statement`.
    pub references: References,
    /// The parsed statement, for later stages that rewrite it.
    pub statement: Statement,
    /// MySQL modifiers of an `UPDATE` / `DELETE`, which `statement` cannot hold; the rewrite
    /// prints them back when it prints the statement (`analyse::print`).
    pub modifiers: super::Modifiers,
    /// The re-serialised statement, verified to re-parse to `statement`.
    pub sql: String,
    /// [`Analysis::query_text`], worked out on first use.
    pub(crate) query_text: std::sync::OnceLock<String>,
}

impl Analysis {
    /// The statement with its literals replaced by `?`, for telemetry; computed once per
    /// analysis (and analyses are cached), only when asked for.
    pub fn query_text(&self) -> &str {
        self.query_text.get_or_init(|| super::shape::parameterised(&self.statement))
    }
}
