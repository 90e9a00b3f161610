//! The plugin's configuration: the JSON Sluice passes to `init`, validated into [`Rules`].
//!
//! ```json
//! {"columns": {"*.email": "email", "customers.ssn": "partial(0,4)",
//!              "payments.card": "last-four", "*.salary": "bucket(1000)"},
//!  "clear_roles": ["support-lead"]}
//! ```
//!
//! Unknown fields are an error, and validation reports every mistake at once.

use std::collections::BTreeMap;

use serde::Deserialize;
use sluice_policy_sdk::Relation;

use crate::spec::MaskSpec;

/// The configuration as written (JSON).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Column pattern to mask spec.
    #[serde(default)]
    columns: BTreeMap<String, String>,
    /// Roles that see clear values.
    #[serde(default)]
    clear_roles: Vec<String>,
}

/// A column pattern: `table.column`, `*.column` or `schema.table.column`; the schema and table
/// parts may be `*` (any). The column is a name, never a wildcard.
#[derive(Clone, Debug)]
pub struct ColumnRule {
    /// The schema part; `None` (not written, or `*`) matches any schema.
    pub schema: Option<String>,
    /// The table part; `None` (`*`) matches any table.
    pub table: Option<String>,
    /// The column's name as configured.
    pub column: String,
    /// The mask.
    pub mask: MaskSpec,
    /// The pattern as written, for annotations and messages.
    pub pattern: String,
}

impl ColumnRule {
    /// Whether the rule covers `relation`. Names compare ASCII case-insensitively (masking more
    /// is the safe side); a schema-qualified pattern also matches a relation the statement named
    /// without a schema, since the search path may resolve it to that schema.
    pub fn matches_relation(&self, relation: &Relation) -> bool {
        let table_ok = self.table.as_deref().is_none_or(|t| t.eq_ignore_ascii_case(&relation.name));
        let schema_ok = match (&self.schema, &relation.schema) {
            (Some(want), Some(have)) => want.eq_ignore_ascii_case(have),
            _ => true,
        };
        table_ok && schema_ok
    }

    /// How specific the pattern is: a named schema and a named table each count one.
    pub fn specificity(&self) -> u8 {
        u8::from(self.schema.is_some()) + u8::from(self.table.is_some())
    }
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Rules {
    /// Column rules, most specific first (then in the configuration's key order).
    pub columns: Vec<ColumnRule>,
    /// Roles that see clear values.
    pub clear_roles: Vec<String>,
}

impl Rules {
    /// Parses and validates `json` (`""` is `{}`), reporting every mistake at once.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let json = if json.trim().is_empty() { "{}" } else { json };
        let raw: RawConfig = serde_json::from_str(json).map_err(|e| format!("pii-mask config: {e}"))?;
        let mut errors = Vec::new();
        let mut columns = Vec::new();
        for (pattern, spec) in &raw.columns {
            let parts: Vec<&str> = pattern.split('.').collect();
            let (schema, table, column) = match parts.as_slice() {
                [table, column] => (None, *table, *column),
                [schema, table, column] => (Some(*schema), *table, *column),
                _ => {
                    errors.push(format!(
                        "column pattern `{pattern}` must be `table.column`, `*.column` or `schema.table.column`"
                    ));
                    continue;
                }
            };
            let bad = |p: &str| p.is_empty() || p.trim() != p;
            if bad(table) || schema.is_some_and(bad) || bad(column) || column.contains('*') {
                errors.push(format!(
                    "column pattern `{pattern}` must be `table.column`, `*.column` or `schema.table.column` (no spaces, `*` only for the schema or table)"
                ));
                continue;
            }
            let mask = match MaskSpec::parse(spec) {
                Ok(mask) => mask,
                Err(e) => {
                    errors.push(format!("`{pattern}`: {e}"));
                    continue;
                }
            };
            let any = |p: &str| (p != "*").then(|| p.to_owned());
            columns.push(ColumnRule {
                schema: schema.and_then(any),
                table: any(table),
                column: column.to_owned(),
                mask,
                pattern: pattern.clone(),
            });
        }
        if !errors.is_empty() {
            return Err(format!("pii-mask config: {}", errors.join("; ")));
        }
        columns.sort_by_key(|c| std::cmp::Reverse(c.specificity()));
        Ok(Rules { columns, clear_roles: raw.clear_roles })
    }

    /// The rule for `column` of `relation`: the most specific matching one.
    pub fn rule_for(&self, relation: &Relation, column: &str) -> Option<&ColumnRule> {
        self.columns.iter().find(|c| c.column.eq_ignore_ascii_case(column) && c.matches_relation(relation))
    }
}
