//! The plugin's configuration: the JSON Sluice passes to `init`, validated into [`Rules`].
//!
//! ```json
//! {"attribute": "tenant_id",
//!  "tables": {"orders": "tenant_id", "public.customers": "tenant_id"},
//!  "default_column": null,
//!  "exempt_roles": ["platform-admin"]}
//! ```
//!
//! Unknown fields are an error, and validation reports every mistake at once.

use std::collections::BTreeMap;

use serde::Deserialize;
use sluice_policy_sdk::Relation;

/// The configuration as written (JSON).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// The principal attribute holding the tenant. Default `tenant_id`.
    #[serde(default = "default_attribute")]
    attribute: String,
    /// Relation pattern (`name` or `schema.name`) to its tenant column.
    #[serde(default)]
    tables: BTreeMap<String, String>,
    /// The tenant column of every touched relation `tables` does not list; `null`: none.
    #[serde(default)]
    default_column: Option<String>,
    /// Roles that see every tenant (no filter).
    #[serde(default)]
    exempt_roles: Vec<String>,
}

fn default_attribute() -> String {
    "tenant_id".to_owned()
}

/// A configured table: `name` (any schema) or `schema.name`, with its tenant column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantTable {
    /// The schema part; `None` matches any schema.
    pub schema: Option<String>,
    /// The relation's name.
    pub name: String,
    /// The tenant column.
    pub column: String,
}

impl TenantTable {
    /// Whether `relation` is this table. Names compare ASCII case-insensitively (filtering
    /// more is the safe side). A `schema.name` entry also matches a relation the statement
    /// named without a schema, since the search path may resolve it to that schema.
    pub fn matches(&self, relation: &Relation) -> bool {
        if !self.name.eq_ignore_ascii_case(&relation.name) {
            return false;
        }
        match (&self.schema, &relation.schema) {
            (Some(want), Some(have)) => want.eq_ignore_ascii_case(have),
            _ => true,
        }
    }
}

/// The validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    /// The principal attribute holding the tenant.
    pub attribute: String,
    /// Tenant-scoped tables; a qualified entry is preferred over a bare one for the same name.
    pub tables: Vec<TenantTable>,
    /// The tenant column for touched relations not in `tables`.
    pub default_column: Option<String>,
    /// Roles exempt from filtering.
    pub exempt_roles: Vec<String>,
}

/// Whether `s` is a plain SQL identifier (`[A-Za-z_][A-Za-z0-9_]*`), safe in a predicate.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Rules {
    /// Parses and validates `json` (`""` is `{}`), reporting every mistake at once.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let json = if json.trim().is_empty() { "{}" } else { json };
        let raw: RawConfig =
            serde_json::from_str(json).map_err(|e| format!("tenant-isolation config: {e}"))?;
        let mut errors = Vec::new();
        if raw.attribute.trim().is_empty() {
            errors.push("`attribute` must not be empty".to_owned());
        }
        let mut tables = Vec::new();
        for (pattern, column) in &raw.tables {
            let parts: Vec<&str> = pattern.split('.').collect();
            let (schema, name) = match parts.as_slice() {
                [name] => (None, *name),
                [schema, name] => (Some(*schema), *name),
                _ => {
                    errors.push(format!("`tables` key `{pattern}` must be `name` or `schema.name`"));
                    continue;
                }
            };
            let bad = |p: &str| p.is_empty() || p.trim() != p;
            if bad(name) || schema.is_some_and(bad) {
                errors.push(format!("`tables` key `{pattern}` must be `name` or `schema.name`"));
                continue;
            }
            if !is_identifier(column) {
                errors.push(format!("tenant column `{column}` of `{pattern}` must be a plain identifier"));
                continue;
            }
            tables.push(TenantTable {
                schema: schema.map(str::to_owned),
                name: name.to_owned(),
                column: column.clone(),
            });
        }
        // Qualified entries first: the more specific entry decides the column.
        tables.sort_by_key(|t| t.schema.is_none());
        if let Some(column) = raw.default_column.as_deref().filter(|c| !is_identifier(c)) {
            errors.push(format!("`default_column` `{column}` must be a plain identifier"));
        }
        if !errors.is_empty() {
            return Err(format!("tenant-isolation config: {}", errors.join("; ")));
        }
        Ok(Rules {
            attribute: raw.attribute,
            tables,
            default_column: raw.default_column,
            exempt_roles: raw.exempt_roles,
        })
    }

    /// The tenant column of `relation`, if it is tenant-scoped.
    pub fn column_for(&self, relation: &Relation) -> Option<&str> {
        self.tables
            .iter()
            .find(|t| t.matches(relation))
            .map(|t| t.column.as_str())
            .or(self.default_column.as_deref())
    }
}
