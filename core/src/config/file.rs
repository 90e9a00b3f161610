//! The configuration file's shape, as written by people. Field docs are the configuration
//! reference: each states its default, its unit and, where it matters, its security effect.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::auth::AuthSection;
use super::policy::{PluginSection, PolicySection};

/// The whole configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[server]`: listening address and request limits.
    #[serde(default)]
    pub server: ServerSection,
    /// `[auth]`: how callers authenticate. Required: Sluice refuses to start open.
    #[serde(default)]
    pub auth: AuthSection,
    /// `[datasources.<name>]`: the databases callers may query, by the name they use in requests.
    #[serde(default)]
    pub datasources: BTreeMap<String, DatasourceSection>,
    /// `[policy]`: settings shared by the policy plugins (artifact cache, hot reload).
    #[serde(default)]
    pub policy: PolicySection,
    /// `[[plugins]]`: the policy chain, run in order on every statement of the datasources each
    /// plugin judges. Default: none, and statements are judged by the analyser alone.
    #[serde(default)]
    pub plugins: Vec<PluginSection>,
    /// `[access]`: just-in-time access requests and grants (see the README's "Just-in-time
    /// access"). Optional: the defaults keep the store next to this file.
    #[serde(default)]
    pub access: AccessSection,
    /// `[audit]`: the tamper-evident audit log (see the README's "Audit log"). Default: none;
    /// an empty `[audit]` table turns it on with the defaults below.
    #[serde(default)]
    pub audit: Option<AuditSection>,
    /// `[telemetry]`: OpenTelemetry export (see the README's "Telemetry"). Optional: without
    /// it, nothing leaves the process but its logs.
    #[serde(default)]
    pub telemetry: super::telemetry::TelemetrySection,
}

/// `[access]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessSection {
    /// Where access requests, reviews and grants are kept: a SQLite file, relative to this
    /// file (default `sluice-access.db`, created on first use: the first statement a plugin
    /// holds for approval), or a `postgres://` URL, which several Sluice processes may share
    /// (tables go where the URL's `search_path` points). Security: it records who may run
    /// what; keep it as private as this file.
    pub store: String,
    /// Roles whose holders approve requests when the plugins that asked name no approver
    /// group. Default none: such requests can then be approved by nobody.
    pub approvers: Vec<String>,
    /// Distinct approvers a request needs. Default 1. Never the requester.
    pub min_approvals: u32,
    /// Also require, among the approvers, a holder of each of the request's approver groups
    /// (N-of-M with one per group). Default false.
    pub approval_per_group: bool,
    /// How long a request waits for approval before it expires, in seconds. Default 3600.
    pub pending_ttl_seconds: u64,
    /// A grant's duration when the plugins suggest none, in seconds. Default 3600, or
    /// `max_grant_seconds` when that is shorter.
    pub default_grant_seconds: Option<u64>,
    /// The longest grant, whatever a plugin suggests, in seconds. Default 28800 (8 h).
    pub max_grant_seconds: u64,
    /// Refuse access requests without a justification. Default false (break-glass always
    /// needs one).
    pub require_justification: bool,
    /// Pending requests one principal may have at once; past it, new ones are refused
    /// (`409 conflict`) until some are decided or expire. Default 20.
    pub max_pending_per_principal: u32,
    /// Roles whose holders may take break-glass access: a grant at once, without approval,
    /// logged loudly and reviewed after the fact by someone else. Default none: off.
    pub break_glass_roles: Vec<String>,
    /// The longest break-glass grant, in seconds. Default 3600.
    pub break_glass_max_seconds: u64,
    /// `[[access.templates]]`: role templates people ask for by name. Default none.
    pub templates: Vec<TemplateSection>,
    /// `[[access.webhooks]]`: receivers of access events. Default none.
    pub webhooks: Vec<WebhookSection>,
}

/// `[audit]`: one hash-chained JSON line per statement decision, with signed checkpoints.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSection {
    /// The log file (JSON lines, appended to), relative to this file. Default
    /// `sluice-audit.jsonl` when `store` is not set. Its directory must exist. One Sluice
    /// process per file.
    pub path: Option<PathBuf>,
    /// Instead of `path`: a PostgreSQL database holding the log (a `postgres://` URL; a
    /// `?options=-csearch_path%3D<schema>` parameter picks the schema), or `access` for the
    /// `[access] store`'s PostgreSQL database. Tables are created when missing. Security: the
    /// URL may hold a password (use `${ENV}`); it is never printed.
    pub store: Option<String>,
    /// With `store`: the chain this process writes, 1 to 128 printable ASCII characters.
    /// Default: the machine's host name. One Sluice process per chain (a second one with the
    /// same chain does not start), so replicas sharing a database each need their own.
    pub chain: Option<String>,
    /// The checkpoint signing key: one line of base64 holding a 32-byte Ed25519 secret key,
    /// relative to this file. Default `sluice-audit.key`; created (mode 0600) when missing,
    /// its public key logged. Security: keep it as private as this file, and a copy of the
    /// public key (`sluice audit public-key`) off the machine.
    pub signing_key: PathBuf,
    /// A signed checkpoint after this many records. Default 1000; 1 to 1,000,000.
    pub checkpoint_every: u64,
    /// A signed checkpoint after this many seconds when records came since the last one.
    /// Default 60; 1 to 86,400.
    pub checkpoint_seconds: u64,
    /// When a record cannot be written, the statement does not run (`503 unavailable`).
    /// Default true. False lets statements run unrecorded while the disk is full.
    pub fail_closed: bool,
    /// `fdatasync` each batch of records before acknowledging it. Default false: a process
    /// crash loses nothing either way (lines are written before statements run); a machine
    /// crash may lose the last batch. Files only: a PostgreSQL commit is durable already.
    pub sync: bool,
}

impl Default for AuditSection {
    fn default() -> Self {
        AuditSection {
            path: None,
            store: None,
            chain: None,
            signing_key: "sluice-audit.key".into(),
            checkpoint_every: 1000,
            checkpoint_seconds: 60,
            fail_closed: true,
            sync: false,
        }
    }
}

/// `[[access.webhooks]]`: where access events are posted (see the README's "Notifications").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// A unique name; deliveries are recorded per name, so renaming one starts it afresh.
    pub name: String,
    /// `https://...` (or `http://` on a trusted network).
    pub url: String,
    /// `json` (default: the event, signed) or `slack` (a Slack incoming webhook's `{"text"}`).
    pub format: Option<String>,
    /// The HMAC-SHA256 signing secret, at least 16 bytes; required for `json`. Security: use
    /// `${ENV}` rather than writing it here.
    pub secret: Option<String>,
    /// The events it receives (`request.created`, `request.approved`, `request.rejected`,
    /// `request.expired`, `request.break_glass`, `grant.revoked`, `grant.used`). Default all.
    pub events: Option<Vec<String>>,
}

/// `[[access.templates]]`: a bundle of access granted by name (see the README's "Role
/// templates").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSection {
    /// What people ask for, e.g. `debug-read`. Required, unique.
    pub name: String,
    /// Shown to requesters and approvers. Required.
    pub description: String,
    /// Datasources it applies to. Required, non-empty.
    pub datasources: Vec<String>,
    /// Statement kinds it permits (`read`, `insert`, `update`, `delete`, `ddl`, `other`).
    /// Required, non-empty.
    pub statements: Vec<String>,
    /// Relations it permits: `name`, `schema.name`, `*` for a whole part (`public.*`, `*`).
    /// Required, non-empty; a statement is covered only if every relation it touches matches.
    pub relations: Vec<String>,
    /// The database role its statements run as (PostgreSQL `SET LOCAL ROLE`, MySQL/MariaDB
    /// `SET ROLE` unset after the statement; the login user must hold it). Default none: the
    /// login role. SQLite datasources take none.
    pub role: Option<String>,
    /// The longest grant of it, in seconds. Default `max_grant_seconds`, and never more.
    pub max_duration_seconds: Option<u64>,
    /// Roles whose holders approve it. Default `[access] approvers`.
    pub approvers: Option<Vec<String>>,
    /// Distinct approvals it needs. Default `[access] min_approvals`.
    pub min_approvals: Option<u32>,
    /// One approval per approver group as well. Default `[access] approval_per_group`.
    pub approval_per_group: Option<bool>,
}

impl Default for AccessSection {
    fn default() -> Self {
        AccessSection {
            store: "sluice-access.db".into(),
            approvers: Vec::new(),
            min_approvals: 1,
            approval_per_group: false,
            pending_ttl_seconds: 3600,
            default_grant_seconds: None,
            max_grant_seconds: 8 * 3600,
            require_justification: false,
            max_pending_per_principal: 20,
            break_glass_roles: Vec::new(),
            break_glass_max_seconds: 3600,
            templates: Vec::new(),
            webhooks: Vec::new(),
        }
    }
}

/// `[server]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address to listen on. Default `127.0.0.1:8080`: loopback only until you decide otherwise.
    pub listen: String,
    /// Largest accepted request body, in bytes. Default 1 MiB. Larger bodies get `413 too_large`.
    pub max_body_bytes: usize,
    /// Longest accepted SQL text, in bytes. Default 64 KiB. Longer statements get `413 too_large`.
    pub max_sql_bytes: usize,
    /// Most positional parameters per request. Default 1000.
    pub max_params: usize,
    /// On shutdown, how long in-flight requests may take to finish, in seconds. Default 30.
    pub shutdown_grace_seconds: u64,
    /// Memory for each datasource's cache of analysed statements, and as much again for its
    /// cache of rewritten reads, in bytes (estimated; least recently used entries go first).
    /// Default 16 MiB. 0 turns both caches off.
    pub plan_cache_bytes: usize,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 1 << 20,
            max_sql_bytes: 64 << 10,
            max_params: 1000,
            shutdown_grace_seconds: 30,
            plan_cache_bytes: 16 << 20,
        }
    }
}

/// `[datasources.<name>]`: one database.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasourceSection {
    /// `postgres`, `mysql` (also MariaDB) or `sqlite`. Required.
    pub kind: String,
    /// Connection URL for `postgres` (`postgres://user@host:5432/db`) and `mysql`
    /// (`mysql://user@host:3306/db`). Put passwords in the environment: `${PG_PASSWORD}`.
    pub url: Option<String>,
    /// Database file for `sqlite`, relative to the configuration file's directory.
    pub path: Option<PathBuf>,
    /// `sqlite` only: SQL files run in order, once, when the database file does not exist yet
    /// (schema and seed data). Relative to the configuration file's directory. Default none.
    #[serde(default)]
    pub bootstrap: Vec<PathBuf>,
    /// Statement kinds this datasource accepts: any of `read`, `insert`, `update`, `delete`,
    /// `ddl`, `other` (EXPLAIN, SHOW, ...). Default `["read", "insert", "update", "delete"]`:
    /// schema changes must be enabled explicitly. Session, transaction and procedural
    /// statements are never forwarded, whatever this says.
    pub statements: Option<Vec<String>>,
    /// Connections in the pool. Default 16. MySQL/MariaDB keeps two pools of this size: reads
    /// run on read-only sessions of their own.
    pub pool_size: Option<usize>,
    /// How long to wait for a connection (new or from the pool), in milliseconds. Default 5000.
    /// Past it the request gets `503 unavailable`.
    pub connect_timeout_ms: Option<u64>,
    /// Statement timeout, in milliseconds. Default 30000. The database cancels the statement and
    /// the caller gets `504 timeout`.
    pub statement_timeout_ms: Option<u64>,
    /// Most rows returned per request. Default 1000.
    pub max_rows: Option<u64>,
    /// Largest encoded result, in bytes of JSON row data. Default 16 MiB.
    pub max_response_bytes: Option<usize>,
    /// What happens when a result exceeds `max_rows` or `max_response_bytes`: `reject` (default)
    /// answers `413 too_large`; `truncate` returns what fits with `"truncated": true`. Writes
    /// have committed by the time their `RETURNING` rows are counted, so theirs are always
    /// truncated (and flagged), never refused after the fact.
    pub on_overflow: Option<String>,
    /// How row-level restrictions are enforced: `rewrite` (default) by Sluice alone, applying
    /// policy plugins' row filters to the statement; `native` (PostgreSQL only) also by the
    /// database's own row-level-security policies. In native mode every statement runs in
    /// its transaction after `SET LOCAL ROLE <rls_role>` and, for each forwarded attribute,
    /// `set_config('sluice.<attribute>', <value>, true)`, plus `sluice.principal` = the
    /// principal's id. Both end with the transaction, so nothing carries over to the next
    /// request on the pooled connection. Security: the login role must be a member of
    /// `rls_role`, and `rls_role` must not own the tables or have `BYPASSRLS`; statements that
    /// call `set_config` or write `pg_settings` are refused in this mode.
    pub rls: Option<String>,
    /// `rls = "native"` only, and required there: the role statements run as (unless a policy
    /// plugin asks for another). At most 63 bytes. No default.
    pub rls_role: Option<String>,
    /// `rls = "native"` only: the principal attributes forwarded as `sluice.<attribute>`, each
    /// a lower-case identifier (`[a-z_][a-z0-9_]*`, not `principal`). A listed attribute the
    /// caller lacks refuses the request (`403 policy_denied`), so list those your policies
    /// depend on. Default: every attribute the caller has whose name is such an identifier,
    /// none of them required.
    pub rls_attributes: Option<Vec<String>>,
    /// How long Sluice keeps this datasource's catalog (its tables, views and columns) before
    /// reading it again, in seconds. Default 300. A statement naming a relation the cached
    /// catalog lacks makes Sluice re-read it at once (at most once a second), so new tables
    /// are seen without waiting; a dropped or altered table may be seen late by this much.
    pub catalog_refresh_seconds: Option<u64>,
    /// The secret of the `keyed-hash` mask: equal values hash equally, and without the secret
    /// the hashes cannot be reversed by guessing. At least 16 bytes; put it in the environment
    /// (`${SLUICE_MASK_SECRET}`). Default none, and `keyed-hash` masks are refused. Never
    /// logged. Changing it changes every hash.
    pub mask_secret: Option<String>,
    /// Masked columns that callers who see them masked may still write, as `"table.column"` or
    /// `"schema.table.column"` (names as the catalog spells them). Default none: a caller who
    /// reads `ssn` as `***-**-1234` cannot set it either, since a column a caller can write but
    /// not read is a place to plant probe values. List a column here when a service must write
    /// data it is not meant to read back in clear, e.g. a sign-up service storing emails.
    /// Security: never list a column with a unique index, whose collisions answer whether a
    /// value exists.
    pub writable_masked_columns: Option<Vec<String>>,
}
