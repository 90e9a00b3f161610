//! {{name}}: a Sluice policy plugin (contract sluice:policy@{{contract}}).
//!
//! A DELETE on a table listed in `protected_tables` needs approval from `approvers`; one that
//! does not restrict its rows (no WHERE, or `WHERE 1 = 1`) is denied outright. Everything else
//! is allowed. Configuration (JSON, from Sluice's `[[plugins]] config`):
//! `{"protected_tables": ["customers", "billing.invoices"], "approvers": ["dba"]}`.

use sluice_policy_sdk::prelude::*;

/// The validated configuration; kept for the life of the instance.
struct ProtectDeletes {
    protected_tables: Vec<String>,
    approvers: Vec<String>,
}

/// Reads a list of strings from the configuration object, or says what is wrong.
fn string_list(config: &serde_json::Value, key: &str) -> Result<Vec<String>, String> {
    match config.get(key) {
        None => Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string).ok_or(format!("{key} must be a list of strings")))
            .collect(),
        Some(_) => Err(format!("{key} must be a list of strings")),
    }
}

impl ProtectDeletes {
    /// `name` or `schema.name` as written in `protected_tables`. Names are compared exactly:
    /// Sluice has already normalised them by the dialect's case rules.
    fn is_protected(&self, relation: &Relation) -> bool {
        self.protected_tables.iter().any(|entry| match entry.split_once('.') {
            Some((schema, name)) => relation.is(Some(schema), name),
            None => relation.name == *entry,
        })
    }
}

impl Policy for ProtectDeletes {
    fn init(config: &str) -> Result<Self, String> {
        let config: serde_json::Value = if config.trim().is_empty() {
            serde_json::Value::Object(serde_json::Map::new())
        } else {
            serde_json::from_str(config).map_err(|e| format!("config is not valid JSON: {e}"))?
        };
        let Some(object) = config.as_object() else {
            return Err("config must be a JSON object".into());
        };
        // Unknown keys are typos: refuse them rather than run with a policy nobody wrote.
        if let Some(key) = object.keys().find(|k| !["protected_tables", "approvers"].contains(&k.as_str())) {
            return Err(format!("unknown config key {key:?}"));
        }
        Ok(ProtectDeletes {
            protected_tables: string_list(&config, "protected_tables")?,
            approvers: string_list(&config, "approvers")?,
        })
    }

    fn evaluate(&self, query: &Query) -> Decision {
        let statement = &query.statement;
        if statement.kind != StatementKind::Delete {
            return Decision::allow();
        }
        for table in statement.writes().filter(|r| self.is_protected(r)) {
            if statement.unrestricted_writes.iter().any(|r| r == table) {
                return Decision::deny(format!("a DELETE on {table} must have a WHERE clause that restricts its rows"))
                    .annotate("rule", "unrestricted-delete");
            }
            return Decision::require_approval(format!("DELETE on {table} needs approval"))
                .approvers(self.approvers.iter().cloned())
                .annotate("rule", "protected-delete");
        }
        Decision::allow()
    }
}

sluice_policy_sdk::export_policy!(ProtectDeletes);
