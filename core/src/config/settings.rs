//! Trusted runtime values, produced from a [`ConfigFile`] by [`validate`] and never changed after.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Problems;
use super::file::{
    AccessSection, AuditSection, ConfigFile, DatasourceSection, ServerSection, TemplateSection,
    WebhookSection,
};
use super::policy::{self, PolicySettings};
use crate::access::{
    AccessSettings, EventKind, RelationPattern, RoleTemplate, StoreLocation, Webhook, WebhookFormat,
};
use crate::analyse::{RelationName, StatementKind};
use crate::audit::log::{AuditSettings, AuditStore};
use crate::auth::Authenticator;
use crate::execute::{Limits, RlsMode, check_role, is_simple_identifier};

/// The validated configuration.
pub struct Config {
    /// Listener and request limits.
    pub server: ServerSettings,
    /// How callers authenticate.
    pub auth: Authenticator,
    /// Datasources by name.
    pub datasources: BTreeMap<String, DatasourceSettings>,
    /// The policy plugin chain.
    pub policy: PolicySettings,
    /// Just-in-time access requests and grants.
    pub access: AccessSettings,
    /// The tamper-evident audit log; `None` without an `[audit]` table.
    pub audit: Option<AuditSettings>,
    /// OpenTelemetry export and trace context.
    pub telemetry: super::TelemetrySettings,
}

/// Validated `[server]`.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Longest SQL text, bytes.
    pub max_sql_bytes: usize,
    /// Most parameters per request.
    pub max_params: usize,
    /// How long in-flight requests may run on shutdown.
    pub shutdown_grace: Duration,
    /// Estimated bytes for each datasource's analysis cache and, again, its rewrite cache.
    pub plan_cache_bytes: usize,
}

/// The database families Sluice connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasourceKind {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
    /// An SQLite file, embedded.
    Sqlite,
}

/// Where a datasource's data lives.
#[derive(Clone)]
pub enum Target {
    /// A server URL (may hold a password: never printed).
    Url(String),
    /// An SQLite file and the scripts that create it.
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// Scripts run once, in order, when the file does not exist.
        bootstrap: Vec<PathBuf>,
    },
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Url(url) => write!(f, "Url({:?})", redact_url(url)),
            Target::Sqlite { path, bootstrap } => {
                f.debug_struct("Sqlite").field("path", path).field("bootstrap", bootstrap).finish()
            }
        }
    }
}

/// `url` with any credentials between `://` and `@` replaced, for logs and reports.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let (head, _) = url.split_at(scheme_end + 3);
            let (_, tail) = url.split_at(at);
            format!("{head}***{tail}")
        }
        _ => url.to_string(),
    }
}

/// What to do with a result over a datasource's row or byte limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Answer `413 too_large`.
    Reject,
    /// Return what fits, flagged `"truncated": true`.
    Truncate,
}

/// Validated `[datasources.<name>]`.
#[derive(Debug, Clone)]
pub struct DatasourceSettings {
    /// Database family.
    pub kind: DatasourceKind,
    /// Where the data lives.
    pub target: Target,
    /// Pool size.
    pub pool_size: usize,
    /// Connection / pool wait timeout.
    pub connect_timeout: Duration,
    /// Statement timeout and row limit.
    pub limits: Limits,
    /// Largest encoded result, bytes.
    pub max_response_bytes: usize,
    /// Reject or truncate oversized results.
    pub overflow: Overflow,
    /// Statement kinds accepted.
    pub statements: BTreeSet<StatementKind>,
    /// How row-level restrictions are enforced.
    pub rls: RlsMode,
    /// How long a cached catalog is used before it is read again.
    pub catalog_refresh: Duration,
    /// The `keyed-hash` mask secret.
    pub mask_secret: Option<Secret>,
    /// Masked columns callers may write anyway, as `(relation, column)`.
    pub writable_masked_columns: Vec<(RelationName, String)>,
}

/// A secret string whose `Debug` form hides it, so that logging settings cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

const KINDS: [StatementKind; 6] = [
    StatementKind::Read,
    StatementKind::Insert,
    StatementKind::Update,
    StatementKind::Delete,
    StatementKind::Ddl,
    StatementKind::Other,
];

/// Checks `file` completely, recording every problem; returns the runtime configuration only
/// when there were none. Relative paths are resolved against `base_dir`.
pub fn validate(
    file: &ConfigFile,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> Option<Config> {
    let server = validate_server(&file.server, problems);
    let auth = file.auth.validate(base_dir, problems);
    if file.datasources.is_empty() {
        problems.add("datasources", "no datasource configured; add a [datasources.<name>] table");
    }
    let datasources: BTreeMap<_, _> = file
        .datasources
        .iter()
        .filter_map(|(name, section)| {
            validate_datasource(name, section, base_dir, problems).map(|ds| (name.clone(), ds))
        })
        .collect();
    let names = policy::datasource_names(&file.datasources);
    let policy = policy::validate(&file.policy, &file.plugins, &names, base_dir, problems);
    let access = validate_access(&file.access, &file.datasources, base_dir, problems);
    let audit =
        file.audit.as_ref().map(|section| validate_audit(section, &file.access.store, base_dir, problems));
    let telemetry = super::telemetry::validate(&file.telemetry, env, problems);
    if !problems.is_empty() {
        return None;
    }
    Some(Config { server: server?, auth: auth?, datasources, policy, access, audit, telemetry })
}

/// `[audit]`: paths relative to the configuration's folder, the log's folder present, an
/// existing key well-formed (a missing one is created when the log opens); or a PostgreSQL
/// store (`access`: the `[access] store`'s) and a chain name, by default the host name.
fn validate_audit(
    s: &AuditSection,
    access_store: &str,
    base_dir: &Path,
    problems: &mut Problems,
) -> AuditSettings {
    check_range(problems, "audit.checkpoint_every", s.checkpoint_every, 1, 1_000_000);
    check_range(problems, "audit.checkpoint_seconds", s.checkpoint_seconds, 1, 86_400);
    let signing_key = base_dir.join(&s.signing_key);
    let mut files = vec![("audit.signing_key", signing_key.clone())];
    let store = match (&s.path, &s.store) {
        (Some(_), Some(_)) => {
            problems
                .add("audit.store", "set either audit.path (a file) or audit.store (PostgreSQL), not both");
            AuditStore::File(PathBuf::new())
        }
        (path, None) => {
            let path = base_dir.join(path.as_deref().unwrap_or(Path::new("sluice-audit.jsonl")));
            files.insert(0, ("audit.path", path.clone()));
            if path == signing_key {
                problems.add("audit.signing_key", "must be another file than audit.path");
            }
            AuditStore::File(path)
        }
        (None, Some(store)) => {
            let url = if store == "access" {
                if !is_postgres_url(access_store) {
                    problems.add(
                        "audit.store",
                        "\"access\" names the [access] store's PostgreSQL database, but [access] store is not a \
                         postgres:// URL",
                    );
                }
                access_store.to_owned()
            } else {
                if !is_postgres_url(store) {
                    problems.add("audit.store", "must be a postgres:// URL, or \"access\"");
                } else if let Err(e) = store.parse::<tokio_postgres::Config>() {
                    // The driver's message, never the URL: it may hold a password.
                    problems.add("audit.store", format!("not a valid PostgreSQL URL: {e}"));
                }
                store.clone()
            };
            let chain = match &s.chain {
                Some(chain) => chain.clone(),
                None => host_name().unwrap_or_default(),
            };
            if chain.is_empty()
                || chain.len() > 128
                || !chain.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
            {
                let what =
                    if s.chain.is_some() { "audit.chain" } else { "audit.chain (the host name, by default)" };
                problems.add(what, format!("{chain:?} is not 1 to 128 printable ASCII characters"));
            }
            AuditStore::Postgres { url, chain }
        }
    };
    if s.chain.is_some() && s.store.is_none() {
        problems.add("audit.chain", "names a chain in a PostgreSQL store: set audit.store too");
    }
    for (key, file) in files.iter().map(|(key, file)| (*key, file)) {
        if file.as_os_str().is_empty() || file.is_dir() {
            problems.add(key, format!("{} is a directory, not a file", file.display()));
        } else if let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty() && !dir.is_dir()) {
            problems.add(key, format!("the directory {} does not exist", dir.display()));
        }
    }
    if signing_key.is_file()
        && let Err(e) = crate::audit::log::check_signing_key_file(&signing_key)
    {
        problems.add("audit.signing_key", e.to_string());
    }
    AuditSettings {
        store,
        signing_key,
        checkpoint_every: s.checkpoint_every,
        checkpoint_interval: Duration::from_secs(s.checkpoint_seconds),
        fail_closed: s.fail_closed,
        sync: s.sync,
    }
}

fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// The machine's host name (Linux), read once when the configuration is validated.
fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|file| std::fs::read_to_string(file).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

fn validate_access(
    s: &AccessSection,
    datasources: &BTreeMap<String, DatasourceSection>,
    base_dir: &Path,
    problems: &mut Problems,
) -> AccessSettings {
    check_range(problems, "access.min_approvals", u64::from(s.min_approvals), 1, 100);
    check_range(problems, "access.pending_ttl_seconds", s.pending_ttl_seconds, 1, 30 * 86_400);
    check_range(problems, "access.max_grant_seconds", s.max_grant_seconds, 1, 30 * 86_400);
    let default_grant = s.default_grant_seconds.unwrap_or(s.max_grant_seconds.min(3600));
    check_range(problems, "access.default_grant_seconds", default_grant, 1, s.max_grant_seconds.max(1));
    check_range(
        problems,
        "access.max_pending_per_principal",
        u64::from(s.max_pending_per_principal),
        1,
        10_000,
    );
    check_range(problems, "access.break_glass_max_seconds", s.break_glass_max_seconds, 1, 30 * 86_400);
    if s.approvers.iter().any(|g| g.trim().is_empty()) {
        problems.add("access.approvers", "an approver group is empty");
    }
    if s.break_glass_roles.iter().any(|g| g.trim().is_empty()) {
        problems.add("access.break_glass_roles", "a break-glass role is empty");
    }
    AccessSettings {
        store: store_location(&s.store, base_dir, problems),
        approvers: s.approvers.clone(),
        min_approvals: s.min_approvals,
        approval_per_group: s.approval_per_group,
        pending_ttl: Duration::from_secs(s.pending_ttl_seconds),
        default_grant: Duration::from_secs(default_grant),
        max_grant: Duration::from_secs(s.max_grant_seconds),
        require_justification: s.require_justification,
        max_pending_per_principal: s.max_pending_per_principal,
        break_glass_roles: s.break_glass_roles.clone(),
        break_glass_max: Duration::from_secs(s.break_glass_max_seconds),
        templates: s
            .templates
            .iter()
            .enumerate()
            .filter_map(|(i, t)| validate_template(i, t, s, datasources, problems))
            .collect(),
        webhooks: s
            .webhooks
            .iter()
            .enumerate()
            .filter_map(|(i, w)| validate_webhook(i, w, s, problems))
            .collect(),
    }
}

/// `store` as written in `[access]`: a `postgres://` URL, or a SQLite file relative to the
/// configuration's folder.
fn store_location(store: &str, base_dir: &Path, problems: &mut Problems) -> StoreLocation {
    if store.starts_with("postgres://") || store.starts_with("postgresql://") {
        if let Err(e) = store.parse::<tokio_postgres::Config>() {
            problems.add("access.store", format!("not a valid PostgreSQL URL: {e}"));
        }
        StoreLocation::Postgres(store.to_owned())
    } else {
        StoreLocation::Sqlite(base_dir.join(store))
    }
}

fn validate_webhook(
    index: usize,
    w: &WebhookSection,
    access: &AccessSection,
    problems: &mut Problems,
) -> Option<Webhook> {
    let key = |field: &str| format!("access.webhooks[{index}].{field}");
    let before = problems.len();
    if w.name.trim().is_empty() {
        problems.add(key("name"), "must not be empty");
    }
    if access.webhooks.iter().take(index).any(|other| other.name == w.name) {
        problems.add(key("name"), format!("another webhook is named {:?}", w.name));
    }
    if !(w.url.starts_with("https://") || w.url.starts_with("http://")) {
        problems.add(key("url"), "must be an http:// or https:// URL");
    }
    let format = match w.format.as_deref() {
        None | Some("json") => WebhookFormat::Json,
        Some("slack") => WebhookFormat::Slack,
        Some(other) => {
            problems.add(key("format"), format!("{other:?} is neither \"json\" nor \"slack\""));
            WebhookFormat::Json
        }
    };
    match (&w.secret, format) {
        (Some(secret), _) if secret.len() < 16 => problems.add(key("secret"), "must be at least 16 bytes"),
        (None, WebhookFormat::Json) => {
            problems.add(key("secret"), "required for json webhooks: receivers verify the signature")
        }
        _ => {}
    }
    let events = match &w.events {
        None => EventKind::ALL.to_vec(),
        Some(names) => names
            .iter()
            .filter_map(|n| {
                let kind = EventKind::parse(n);
                if kind.is_none() {
                    problems.add(key("events"), format!("unknown event {n:?}"));
                }
                kind
            })
            .collect(),
    };
    if problems.len() != before {
        return None;
    }
    Some(Webhook { name: w.name.clone(), url: w.url.clone(), format, secret: w.secret.clone(), events })
}

fn validate_template(
    index: usize,
    t: &TemplateSection,
    access: &AccessSection,
    datasources: &BTreeMap<String, DatasourceSection>,
    problems: &mut Problems,
) -> Option<RoleTemplate> {
    let key = |field: &str| format!("access.templates[{index}].{field}");
    let before = problems.len();
    if t.name.trim().is_empty() || t.name.contains(char::is_whitespace) {
        problems.add(key("name"), format!("{:?} must be a non-empty name without spaces", t.name));
    }
    if access.templates.iter().take(index).any(|other| other.name == t.name) {
        problems.add(key("name"), format!("another template is named {:?}", t.name));
    }
    if t.datasources.is_empty() {
        problems.add(key("datasources"), "list the datasources the template applies to");
    }
    for name in &t.datasources {
        match datasources.get(name) {
            None => problems.add(key("datasources"), format!("no datasource is named {name:?}")),
            Some(ds)
                if t.role.is_some()
                    && !matches!(ds.kind.as_str(), "postgres" | "postgresql" | "mysql" | "mariadb") =>
            {
                problems
                    .add(key("role"), format!("datasource {name:?} is SQLite, which has no database roles"))
            }
            Some(_) => {}
        }
    }
    let statements: BTreeSet<StatementKind> = t
        .statements
        .iter()
        .filter_map(|n| {
            let kind = KINDS.into_iter().find(|k| k.name() == n);
            if kind.is_none() {
                problems.add(key("statements"), format!("unknown statement kind {n:?}"));
            }
            kind
        })
        .collect();
    if t.statements.is_empty() {
        problems.add(key("statements"), "list the statement kinds the template permits");
    }
    let relations: Vec<RelationPattern> = t
        .relations
        .iter()
        .filter_map(|p| RelationPattern::parse(p).map_err(|e| problems.add(key("relations"), e)).ok())
        .collect();
    if t.relations.is_empty() {
        problems.add(key("relations"), "list the relations the template permits (`*` for all)");
    }
    if let Some(role) = &t.role
        && let Err(e) = check_role(role)
    {
        problems.add(key("role"), e);
    }
    let max = t.max_duration_seconds.unwrap_or(access.max_grant_seconds);
    check_range(problems, &key("max_duration_seconds"), max, 1, access.max_grant_seconds.max(1));
    let min_approvals = t.min_approvals.unwrap_or(access.min_approvals);
    check_range(problems, &key("min_approvals"), u64::from(min_approvals), 1, 100);
    if problems.len() != before {
        return None;
    }
    Some(RoleTemplate {
        name: t.name.clone(),
        description: t.description.clone(),
        datasources: t.datasources.iter().cloned().collect(),
        statements,
        relations,
        role: t.role.clone(),
        max_duration: Duration::from_secs(max),
        approvers: t.approvers.clone().unwrap_or_else(|| access.approvers.clone()),
        min_approvals,
        approval_per_group: t.approval_per_group.unwrap_or(access.approval_per_group),
    })
}

fn validate_server(s: &ServerSection, problems: &mut Problems) -> Option<ServerSettings> {
    let listen = s.listen.parse::<SocketAddr>();
    if listen.is_err() {
        problems.add("server.listen", format!("{:?} is not an address like 127.0.0.1:8080", s.listen));
    }
    check_range(problems, "server.max_body_bytes", s.max_body_bytes as u64, 1024, 1 << 30);
    check_range(problems, "server.max_sql_bytes", s.max_sql_bytes as u64, 16, 16 << 20);
    check_range(problems, "server.max_params", s.max_params as u64, 0, 65_535);
    check_range(problems, "server.shutdown_grace_seconds", s.shutdown_grace_seconds, 0, 3600);
    check_range(problems, "server.plan_cache_bytes", s.plan_cache_bytes as u64, 0, 1 << 34);
    Some(ServerSettings {
        listen: listen.ok()?,
        max_body_bytes: s.max_body_bytes,
        max_sql_bytes: s.max_sql_bytes,
        max_params: s.max_params,
        shutdown_grace: Duration::from_secs(s.shutdown_grace_seconds),
        plan_cache_bytes: s.plan_cache_bytes,
    })
}

fn validate_datasource(
    name: &str,
    s: &DatasourceSection,
    base_dir: &Path,
    problems: &mut Problems,
) -> Option<DatasourceSettings> {
    let key = |field: &str| format!("datasources.{name}.{field}");
    let before = problems.len();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        problems.add(format!("datasources.{name}"), "names may use only letters, digits, `_` and `-`");
    }
    let kind = match s.kind.as_str() {
        "postgres" | "postgresql" => Some(DatasourceKind::Postgres),
        "mysql" | "mariadb" => Some(DatasourceKind::Mysql),
        "sqlite" => Some(DatasourceKind::Sqlite),
        other => {
            problems.add(key("kind"), format!("unknown kind {other:?}; expected postgres, mysql or sqlite"));
            None
        }
    };
    let target = kind.and_then(|kind| validate_target(kind, s, base_dir, problems, &key));

    let statements = match &s.statements {
        None => [StatementKind::Read, StatementKind::Insert, StatementKind::Update, StatementKind::Delete]
            .into_iter()
            .collect(),
        Some(names) => names
            .iter()
            .filter_map(|n| {
                let kind = KINDS.into_iter().find(|k| k.name() == n);
                if kind.is_none() {
                    problems.add(
                        key("statements"),
                        format!("unknown statement kind {n:?}; expected read, insert, update, delete, ddl or other"),
                    );
                }
                kind
            })
            .collect(),
    };
    let pool_size = s.pool_size.unwrap_or(16);
    check_range(problems, &key("pool_size"), pool_size as u64, 1, 1024);
    let connect_ms = s.connect_timeout_ms.unwrap_or(5_000);
    check_range(problems, &key("connect_timeout_ms"), connect_ms, 1, 600_000);
    let statement_ms = s.statement_timeout_ms.unwrap_or(30_000);
    check_range(problems, &key("statement_timeout_ms"), statement_ms, 1, 86_400_000);
    let max_rows = s.max_rows.unwrap_or(1000);
    check_range(problems, &key("max_rows"), max_rows, 1, 10_000_000);
    let max_response_bytes = s.max_response_bytes.unwrap_or(16 << 20);
    check_range(problems, &key("max_response_bytes"), max_response_bytes as u64, 1024, 1 << 30);
    let overflow = match s.on_overflow.as_deref() {
        None | Some("reject") => Overflow::Reject,
        Some("truncate") => Overflow::Truncate,
        Some(other) => {
            problems.add(key("on_overflow"), format!("{other:?} is neither \"reject\" nor \"truncate\""));
            Overflow::Reject
        }
    };
    let rls = validate_rls(kind, s, problems, &key);
    let catalog_refresh = s.catalog_refresh_seconds.unwrap_or(300);
    check_range(problems, &key("catalog_refresh_seconds"), catalog_refresh, 1, 86_400);
    if s.mask_secret.as_ref().is_some_and(|secret| secret.len() < 16) {
        problems.add(key("mask_secret"), "must be at least 16 bytes");
    }
    let writable_masked_columns = writable_columns(s, problems, &key);
    if problems.len() != before {
        return None;
    }
    Some(DatasourceSettings {
        kind: kind?,
        target: target?,
        pool_size,
        connect_timeout: Duration::from_millis(connect_ms),
        limits: Limits { statement_timeout: Duration::from_millis(statement_ms), max_rows },
        max_response_bytes,
        overflow,
        statements,
        rls,
        catalog_refresh: Duration::from_secs(catalog_refresh),
        mask_secret: s.mask_secret.clone().map(Secret),
        writable_masked_columns,
    })
}

/// `writable_masked_columns`: each entry `table.column` or `schema.table.column`, no part empty.
fn writable_columns(
    s: &DatasourceSection,
    problems: &mut Problems,
    key: &dyn Fn(&str) -> String,
) -> Vec<(RelationName, String)> {
    let mut out = Vec::new();
    for entry in s.writable_masked_columns.iter().flatten() {
        let parts: Vec<&str> = entry.split('.').collect();
        let parsed = match parts.as_slice() {
            [table, column] => Some((RelationName { schema: None, name: (*table).to_owned() }, column)),
            [schema, table, column] => {
                Some((RelationName { schema: Some((*schema).to_owned()), name: (*table).to_owned() }, column))
            }
            _ => None,
        };
        match parsed {
            Some((relation, column)) if !parts.iter().any(|p| p.is_empty()) => {
                out.push((relation, (*column).to_owned()));
            }
            _ => problems.add(
                key("writable_masked_columns"),
                format!("{entry:?} is not \"table.column\" or \"schema.table.column\""),
            ),
        }
    }
    out
}

fn validate_rls(
    kind: Option<DatasourceKind>,
    s: &DatasourceSection,
    problems: &mut Problems,
    key: &dyn Fn(&str) -> String,
) -> RlsMode {
    match s.rls.as_deref() {
        None | Some("rewrite") => {
            for (field, given) in
                [("rls_role", s.rls_role.is_some()), ("rls_attributes", s.rls_attributes.is_some())]
            {
                if given {
                    problems.add(key(field), "only datasources with rls = \"native\" take this");
                }
            }
            RlsMode::Rewrite
        }
        Some("native") => {
            if kind.is_some_and(|k| k != DatasourceKind::Postgres) {
                problems.add(key("rls"), "\"native\" row-level security needs a postgres datasource");
            }
            let role = match &s.rls_role {
                None => {
                    problems
                        .add(key("rls_role"), "required with rls = \"native\": the role statements run as");
                    String::new()
                }
                Some(role) => {
                    if let Err(message) = check_role(role) {
                        problems.add(key("rls_role"), message);
                    }
                    role.clone()
                }
            };
            let mut seen = BTreeSet::new();
            for (i, name) in s.rls_attributes.iter().flatten().enumerate() {
                let at = format!("{}[{i}]", key("rls_attributes"));
                if !is_simple_identifier(name) {
                    problems.add(at, format!("{name:?} is not a lower-case identifier ([a-z_][a-z0-9_]*)"));
                } else if name == "principal" {
                    problems
                        .add(at, "\"principal\" is reserved: sluice.principal is always the principal's id");
                } else if !seen.insert(name) {
                    problems.add(at, format!("{name:?} is listed twice"));
                }
            }
            RlsMode::Native { role, attributes: s.rls_attributes.clone() }
        }
        Some(other) => {
            problems.add(key("rls"), format!("{other:?} is neither \"rewrite\" nor \"native\""));
            RlsMode::Rewrite
        }
    }
}

fn validate_target(
    kind: DatasourceKind,
    s: &DatasourceSection,
    base_dir: &Path,
    problems: &mut Problems,
    key: &dyn Fn(&str) -> String,
) -> Option<Target> {
    let schemes: &[&str] = match kind {
        DatasourceKind::Postgres => &["postgres://", "postgresql://"],
        DatasourceKind::Mysql => &["mysql://", "mariadb://"],
        DatasourceKind::Sqlite => &[],
    };
    if kind == DatasourceKind::Sqlite {
        if s.url.is_some() {
            problems.add(key("url"), "sqlite datasources take `path`, not `url`");
        }
        let Some(path) = &s.path else {
            problems.add(key("path"), "required for sqlite: the database file");
            return None;
        };
        let bootstrap: Vec<PathBuf> = s.bootstrap.iter().map(|p| base_dir.join(p)).collect();
        for (i, file) in bootstrap.iter().enumerate() {
            if !file.is_file() {
                problems.add(
                    format!("{}[{i}]", key("bootstrap")),
                    format!("{} is not a readable file", file.display()),
                );
            }
        }
        return Some(Target::Sqlite { path: base_dir.join(path), bootstrap });
    }
    if s.path.is_some() {
        problems.add(key("path"), "only sqlite datasources take `path`; use `url`");
    }
    if !s.bootstrap.is_empty() {
        problems.add(key("bootstrap"), "only sqlite datasources take `bootstrap`");
    }
    match &s.url {
        None => {
            problems.add(key("url"), format!("required: a URL starting with {}", schemes.join(" or ")));
            None
        }
        Some(url) if !schemes.iter().any(|p| url.starts_with(p)) => {
            problems.add(
                key("url"),
                format!("{:?} does not start with {}", redact_url(url), schemes.join(" or ")),
            );
            None
        }
        Some(url) => Some(Target::Url(url.clone())),
    }
}

fn check_range(problems: &mut Problems, key: &str, value: u64, min: u64, max: u64) {
    if !(min..=max).contains(&value) {
        problems.add(key, format!("{value} is out of range {min}..={max}"));
    }
}
