//! The recorded-cases file of `sluice plugin test`: its JSON shape, and each case resolved
//! against the file's defaults into plain inputs. The format is documented in
//! `plugins/README.md` ("Scaffold and test").

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use serde::Deserialize;
use sluice_core::analyse::Dialect;
use sluice_core::auth::Principal;
use sluice_core::policy::RequestMeta;

/// A cases file: the plugin's `init` configuration, defaults, and the cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasesFile {
    /// Passed to `init` as JSON; `{}` when absent (as in Sluice's configuration).
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    /// Values every case inherits unless it sets its own.
    #[serde(default)]
    pub defaults: Context,
    /// The cases, run in order.
    pub cases: Vec<Case>,
}

/// The context of a statement; every field is optional, a case's fields override the defaults.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// `postgres` (default), `mysql` or `sqlite`: the analyser's dialect and the datasource's.
    pub dialect: Option<String>,
    /// The datasource's name; default `app`.
    pub datasource: Option<String>,
    /// The caller; default id `test`, no roles, no attributes.
    pub principal: Option<PrincipalSpec>,
    /// When the request was received: RFC 3339 text or milliseconds since the epoch. It is also
    /// what the host's `now-ms` answers. Default `0` (1970-01-01T00:00:00Z).
    pub received_at: Option<Timestamp>,
    /// The caller's stated reason.
    pub justification: Option<String>,
    /// The caller's address.
    pub client_address: Option<String>,
    /// The trace id; default `case-<n>`.
    pub trace_id: Option<String>,
}

/// A principal as written in a cases file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalSpec {
    /// API key id or JWT subject; default `test`.
    #[serde(default)]
    pub id: Option<String>,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Attributes such as `tenant_id`.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// A point in time: RFC 3339 text or milliseconds since the epoch.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Timestamp {
    /// Milliseconds since the Unix epoch, UTC.
    Millis(u64),
    /// RFC 3339, e.g. `2025-01-06T09:30:00Z`.
    Text(String),
}

/// One recorded case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Shown in the output.
    pub name: String,
    /// The statement, analysed as Sluice would.
    pub sql: String,
    /// This case's `init` configuration, replacing the file's (e.g. to test a refused config).
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    /// Overrides `defaults.dialect`.
    pub dialect: Option<String>,
    /// Overrides `defaults.datasource`.
    pub datasource: Option<String>,
    /// Overrides `defaults.principal` (as a whole).
    pub principal: Option<PrincipalSpec>,
    /// Overrides `defaults.received_at`.
    pub received_at: Option<Timestamp>,
    /// Overrides `defaults.justification`.
    pub justification: Option<String>,
    /// Overrides `defaults.client_address`.
    pub client_address: Option<String>,
    /// Overrides `defaults.trace_id`.
    pub trace_id: Option<String>,
    /// What the plugin must decide; only the keys given are checked.
    pub expect: Expect,
}

impl Case {
    /// The case's own context fields (serde's `flatten` cannot be combined with
    /// `deny_unknown_fields`, and typos in a cases file must not pass silently).
    pub fn context(&self) -> Context {
        Context {
            dialect: self.dialect.clone(),
            datasource: self.datasource.clone(),
            principal: self.principal.clone(),
            received_at: self.received_at.clone(),
            justification: self.justification.clone(),
            client_address: self.client_address.clone(),
            trace_id: self.trace_id.clone(),
        }
    }
}

/// The expectation of a case. Only the keys present are checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `allow`, `deny` or `require_approval`.
    pub verdict: Option<String>,
    /// A substring of the deny or approval reason (or of the failure / refusal message).
    pub reason_contains: Option<String>,
    /// The approval's approver groups, exactly (order ignored).
    pub approvers: Option<Vec<String>>,
    /// The approval's suggested duration, seconds.
    pub duration_secs: Option<u32>,
    /// Annotations that must be present with these values (others may be too).
    pub annotations: Option<BTreeMap<String, String>>,
    /// Row filters, in order: `[{"relation", "predicate", "params"}]`, each object's given keys.
    pub row_filters: Option<serde_json::Value>,
    /// Column masks, in order: `[{"relation", "column", "mask", "args"}]`, each object's given keys.
    pub column_masks: Option<serde_json::Value>,
    /// Session settings that must be present with these values.
    pub session_settings: Option<BTreeMap<String, String>>,
    /// The role asked for; `null` for none.
    #[serde(default, deserialize_with = "some_value")]
    pub role: Option<Option<String>>,
    /// The plugin fails instead of deciding: `init_failed`, `trap`, `timeout`, `out_of_memory`,
    /// `malformed_verdict` or `unavailable`.
    pub failure: Option<String>,
    /// The analyser refuses the statement with this code (`statement_not_allowed`,
    /// `sql_parse_error`); the plugin is not called.
    pub refused: Option<String>,
}

/// Tells an explicit `null` apart from an absent key.
fn some_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A case's context with every default applied.
#[derive(Debug)]
pub struct Resolved {
    /// The dialect.
    pub dialect: Dialect,
    /// The datasource's name.
    pub datasource: String,
    /// The caller.
    pub principal: Principal,
    /// Request metadata, including `received_at_ms`.
    pub request: RequestMeta,
}

impl CasesFile {
    /// Reads and parses `path`.
    ///
    /// # Errors
    /// When the file cannot be read or is not a valid cases file.
    pub fn read(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a valid cases file", path.display()))
    }
}

/// The `init` configuration as Sluice passes it: JSON text, `{}` when none is given.
pub fn config_json(config: Option<&serde_json::Value>) -> String {
    config.map_or_else(|| "{}".to_string(), serde_json::Value::to_string)
}

/// Applies `defaults` under `case` (the case wins field by field; a principal is taken whole).
///
/// # Errors
/// An unknown dialect or an unreadable timestamp.
pub fn resolve(defaults: &Context, case: &Context, index: usize) -> anyhow::Result<Resolved> {
    let pick = |c: &Option<String>, d: &Option<String>| c.clone().or_else(|| d.clone());
    let dialect = match pick(&case.dialect, &defaults.dialect).as_deref().unwrap_or("postgres") {
        "postgres" => Dialect::Postgres,
        "mysql" => Dialect::MySql,
        "sqlite" => Dialect::Sqlite,
        other => bail!("dialect {other:?}: this Sluice analyses postgres, mysql and sqlite"),
    };
    let spec = case.principal.clone().or_else(|| defaults.principal.clone()).unwrap_or_default();
    let received_at_ms = match case.received_at.as_ref().or(defaults.received_at.as_ref()) {
        None => 0,
        Some(Timestamp::Millis(ms)) => *ms,
        Some(Timestamp::Text(text)) => {
            let at = chrono::DateTime::parse_from_rfc3339(text)
                .with_context(|| format!("received_at {text:?} is not RFC 3339"))?;
            u64::try_from(at.timestamp_millis())
                .with_context(|| format!("received_at {text:?} is before 1970"))?
        }
    };
    Ok(Resolved {
        dialect,
        datasource: pick(&case.datasource, &defaults.datasource).unwrap_or_else(|| "app".into()),
        principal: Principal {
            id: spec.id.unwrap_or_else(|| "test".into()),
            roles: spec.roles,
            attributes: spec.attributes,
        },
        request: RequestMeta {
            client_address: pick(&case.client_address, &defaults.client_address),
            justification: pick(&case.justification, &defaults.justification),
            received_at_ms,
            trace_id: pick(&case.trace_id, &defaults.trace_id).unwrap_or_else(|| format!("case-{index}")),
        },
    })
}
