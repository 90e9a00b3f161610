//! The validated runtime state, and one query through the pipeline.
//!
//! [`Gateway::query`] runs analyse -> execute -> encode over plain data; authentication has
//! already happened (the HTTP extractor produced the [`Principal`]). Nothing here knows HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tracing::{Instrument, field};
use utoipa::ToSchema;

use crate::access::{
    self, Access, AccessError, AccessRequest, Coverage, Covered, Grant, GrantUses, NewRequest, RelationAsked,
    RoleTemplate, StatementAsked,
};
use crate::analyse::{self, Analysis, Dialect, RelationName, StatementKind};
use crate::audit::log::{AuditEvent, AuditLog};
use crate::audit::{self, Metrics, RequestRecord, Stage, TraceId, span};
use crate::auth::{Authenticator, Principal};
use crate::config::{Config, DatasourceSettings, Overflow, ServerSettings, Target, TelemetrySettings};
use crate::encode::{self, ColumnMeta};
use crate::error::Error;
use crate::execute::{
    Cancel, Catalog, CatalogCache, Connector, ExecError, ExecRequest, MIN_RELOAD, Mode, SessionAsk,
    session_for,
};
use crate::plans::PlanCache;
use crate::policy::{ApprovalRequest, ChainOutcome, ChainVerdict, PolicyInput, PolicyRuntime, RequestMeta};
use crate::rewrite::{self, OutputMasks, RewriteError, RewriteInput, Rewritten};

/// One datasource: its validated settings and its connector.
pub struct Datasource {
    /// Limits, allowed statement kinds, overflow handling.
    pub settings: DatasourceSettings,
    /// The connection pool to the database.
    pub connector: Arc<dyn Connector>,
    /// The database's tables, views and columns, as last read.
    pub catalog: CatalogCache,
    /// Analyses and rewrites already worked out for statement texts.
    pub plans: PlanCache,
    /// Where the database is, as its client spans name it.
    pub server: DbServer,
}

/// A database as the OpenTelemetry database conventions name it on client spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbServer {
    /// `db.namespace`: the database's name (the URL's path; an SQLite file's name).
    pub namespace: Option<String>,
    /// `server.address`.
    pub address: Option<String>,
    /// `server.port`.
    pub port: Option<u16>,
}

impl DbServer {
    /// Read off a datasource's target; never its credentials.
    pub fn of(target: &Target) -> Self {
        match target {
            Target::Url(url) => match reqwest::Url::parse(url) {
                Ok(url) => DbServer {
                    namespace: url
                        .path()
                        .trim_start_matches('/')
                        .split('/')
                        .next()
                        .filter(|db| !db.is_empty())
                        .map(str::to_owned),
                    address: url.host_str().map(str::to_owned),
                    port: url.port(),
                },
                Err(_) => DbServer::default(),
            },
            Target::Sqlite { path, .. } => DbServer {
                namespace: path.file_name().map(|name| name.to_string_lossy().into_owned()),
                ..DbServer::default()
            },
        }
    }
}

/// Everything a running Sluice needs; built once at start-up, shared read-only.
pub struct Gateway {
    /// Request limits.
    pub server: ServerSettings,
    /// Verifies bearer tokens.
    pub auth: Authenticator,
    /// Datasources by name.
    pub datasources: BTreeMap<String, Datasource>,
    /// The policy plugin chain; `None` when no plugin is configured.
    pub policy: Option<Arc<PolicyRuntime>>,
    /// Access requests and grants: what lets a statement held for approval run.
    pub access: Access,
    /// Counters and histograms served at `GET /metrics`.
    pub metrics: Metrics,
    /// Trace context sent to databases.
    pub telemetry: TelemetrySettings,
    /// The tamper-evident audit log, when `[audit]` configures one.
    pub audit: Option<AuditLog>,
}

/// What the transport knows about a request, beyond its body and credentials.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The request's trace id.
    pub trace_id: TraceId,
    /// The peer's IP address, when served over a socket.
    pub client_address: Option<String>,
}

/// `POST /v1/query` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// The datasource's configured name.
    pub datasource: String,
    /// One SQL statement in the datasource's dialect.
    pub sql: String,
    /// Positional parameters in the datasource's placeholder style (`$1` for PostgreSQL, `?`
    /// for MySQL and SQLite), bound natively, never interpolated. Bytes are base64 strings.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub params: Vec<serde_json::Value>,
    /// Why the caller runs this statement; recorded for audit and shown to approvers.
    #[serde(default)]
    pub justification: Option<String>,
}

/// `POST /v1/access-requests` body: ask ahead for a statement the policy holds for approval.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskAhead {
    /// The datasource's configured name.
    pub datasource: String,
    /// The statement, as it will be sent to `/v1/query`; or ask for `template` instead.
    #[serde(default)]
    pub sql: Option<String>,
    /// A role template (see `[[access.templates]]`) instead of a statement: its grant covers
    /// every statement the template permits, as the template's database role, until it expires.
    #[serde(default)]
    pub template: Option<String>,
    /// A relation (`name` or `schema.name`, as a statement would name it) instead of a
    /// statement: its grant covers every statement of the kinds in `statements` that touches
    /// this relation and no other, until it expires.
    #[serde(default)]
    pub relation: Option<String>,
    /// With `relation`: the statement kinds asked for, of `read`, `insert`, `update` and
    /// `delete`. Default `["read"]`.
    #[serde(default)]
    pub statements: Vec<String>,
    /// Its parameters (a one-time grant covers exactly these); none for a template.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub params: Vec<serde_json::Value>,
    /// Why; shown to approvers. Required for break-glass, and everywhere when
    /// `[access] require_justification` is set.
    #[serde(default)]
    pub justification: Option<String>,
    /// `once` (default): exactly this statement, once. `window`: any statement of its
    /// fingerprint (same shape, any constants and parameters) until the grant expires.
    #[serde(default)]
    pub uses: GrantUses,
    /// How long the grant should last, seconds; at most `[access] max_grant_seconds`
    /// (`break_glass_max_seconds` for break-glass). Default: the plugins' suggestion, else
    /// `default_grant_seconds`.
    #[serde(default)]
    pub duration_seconds: Option<u64>,
    /// Take the grant now, without approval, as a holder of a break-glass role; it is logged
    /// loudly and awaits review by someone else.
    #[serde(default)]
    pub break_glass: bool,
}

/// `200` response of `POST /v1/query`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueryResponse {
    /// Column metadata, in result order.
    pub columns: Vec<ColumnMeta>,
    /// Rows of typed values: exact numerics and 64-bit integers as strings, bytes as base64,
    /// times as RFC 3339, JSON as a string holding the database's JSON text (so JSON `null` is
    /// `"null"` and SQL NULL is `null`).
    #[schema(value_type = Vec<Vec<Object>>)]
    pub rows: Vec<Vec<serde_json::Value>>,
    /// `rows.len()`.
    pub row_count: usize,
    /// True when the datasource truncates oversized results and this one was truncated.
    pub truncated: bool,
    /// The statement's command tag (`SELECT`, `INSERT`, ...).
    pub command: String,
    /// Rows inserted, updated or deleted; `null` for reads.
    pub rows_affected: Option<u64>,
    /// The request's trace id.
    pub trace_id: String,
}

impl Gateway {
    /// Assembles a gateway from a validated configuration and one connector per datasource.
    ///
    /// Compiles the configured policy plugins here (or takes them from the artifact cache); a
    /// plugin that fails to load is reported by [`PolicyRuntime::problems`] and denies.
    ///
    /// # Errors
    /// [`Error::Internal`] when a configured datasource has no connector, or the plugin engine
    /// cannot be created.
    pub fn new(config: Config, mut connectors: BTreeMap<String, Arc<dyn Connector>>) -> Result<Self, Error> {
        let datasources = config
            .datasources
            .into_iter()
            .map(|(name, settings)| {
                let connector = connectors
                    .remove(&name)
                    .ok_or_else(|| Error::Internal(format!("no connector for datasource {name}")))?;
                let catalog = CatalogCache::new(settings.catalog_refresh);
                let plans = PlanCache::new(config.server.plan_cache_bytes);
                let server = DbServer::of(&settings.target);
                Ok((name, Datasource { settings, connector, catalog, plans, server }))
            })
            .collect::<Result<_, Error>>()?;
        let policy = if config.policy.plugins.is_empty() {
            None
        } else {
            let runtime = PolicyRuntime::new(&config.policy)
                .map_err(|e| Error::Internal(format!("cannot create the plugin engine: {e:#}")))?;
            Some(Arc::new(runtime))
        };
        let access = Access::new(config.access);
        let metrics =
            Metrics::new().map_err(|e| Error::Internal(format!("cannot register the metrics: {e}")))?;
        let audit = config
            .audit
            .as_ref()
            .map(|settings| AuditLog::open(settings, Some(&metrics)))
            .transpose()
            .map_err(|e| Error::Internal(format!("cannot open the audit log: {e}")))?;
        Ok(Gateway {
            server: config.server,
            auth: config.auth,
            datasources,
            policy,
            access,
            metrics,
            telemetry: config.telemetry,
            audit,
        })
    }

    /// Runs one statement for `principal`.
    ///
    /// # Errors
    /// Every refusal and failure, as an [`Error`] with its stable code.
    pub async fn query(
        &self,
        principal: &Principal,
        request: QueryRequest,
        caller: &RequestContext,
    ) -> Result<QueryResponse, Error> {
        let mut record = RequestRecord::start();
        let result = self.run(principal, request, caller, &mut record).await;
        record.error = result.as_ref().err().map(Error::code);
        self.observe(&record, principal, caller).await;
        result
    }

    /// The single exit of every `query`: writes the record to the request span (its summary
    /// line, see `http::app`; each field once), to the metrics, and to the audit log as the
    /// statement's last record (`completed` when it ran, `refused` when it did not).
    async fn observe(&self, record: &RequestRecord, principal: &Principal, caller: &RequestContext) {
        if let Some(audit) = &self.audit {
            let event = if record.executed { AuditEvent::Completed } else { AuditEvent::Refused };
            if let Err(e) = audit.append(record.audit_entry(event, &principal.id, &caller.trace_id)).await {
                // The answer stands (a statement that ran cannot be undone); the failure is
                // counted and alerted on (`sluice_audit_write_failures_total`).
                tracing::error!(error = %e, event = event.as_str(), "cannot write the audit record");
            }
        }
        let span = tracing::Span::current();
        if let Some(datasource) = &record.datasource {
            span.record("datasource", datasource.as_str());
        }
        if let Some(kind) = record.kind() {
            span.record("kind", kind.name());
        }
        if let Some(verdict) = record.verdict {
            span.record("verdict", verdict);
        }
        if let Some(rows) = record.rows {
            span.record("rows", rows);
        }
        self.metrics.observe(record);
    }

    /// The stages of `query`, filling `record` as they go; stage spans are `debug`.
    async fn run(
        &self,
        principal: &Principal,
        request: QueryRequest,
        caller: &RequestContext,
        record: &mut RequestRecord,
    ) -> Result<QueryResponse, Error> {
        // Only a configured name: what callers send must not become a metric label.
        if let Some((name, ds)) = self.datasources.get_key_value(&request.datasource) {
            record.datasource = Some(name.clone());
            record.db_system = Some(ds.connector.dialect().telemetry_name());
        }
        let started = Instant::now();
        let admitted = self.admit(&request);
        record.timed(Stage::Analyse, started);
        let (name, ds, analysis) = admitted?;
        record.analysis = Some(Arc::clone(&analysis));
        let analysis = analysis.as_ref();
        let kind = analysis.facts.kind;

        let grants = self.grants_for(principal, name).await;
        let template = self.covering_template(name, analysis, &grants);
        let effective = effective_principal(principal, &grants);
        let mut ask = SessionAsk::default();
        let mut outcome = None;
        let mut grant = None;
        let started = Instant::now();
        let judged = self.judge(&effective, name, ds, analysis, &request, caller, &grants).await;
        if let Some((chain, policy_span)) = judged {
            record.timed(Stage::Policy, started);
            ask = SessionAsk::of(&chain);
            record.judged(&chain);
            match enforce(&chain, &policy_span) {
                Ok(()) => {}
                Err(Error::ApprovalRequired(asked, _)) => {
                    let held = match &template {
                        Some((template, covered)) => {
                            tracing::info!(
                                grant = covered.grant_id.as_str(),
                                template = template.name.as_str(),
                                "access grant used"
                            );
                            covered.clone()
                        }
                        None => match self.covering_relation(ds, analysis, &grants).await {
                            Some(covered) => {
                                tracing::info!(grant = covered.grant_id.as_str(), "access grant used");
                                covered
                            }
                            None => {
                                self.hold(principal, name, analysis, &request, asked)
                                    .instrument(policy_span.clone())
                                    .await?
                            }
                        },
                    };
                    record.verdict = Some("granted");
                    record.grant = Some(held.grant_id.clone());
                    policy_span.record("sluice.grant", held.grant_id.as_str());
                    grant = Some(held);
                }
                Err(e) => return Err(e),
            }
            outcome = Some(chain);
        }
        // A template's database role applies to every statement its grant covers.
        if let Some((template, covered)) = &template
            && let Some(role) = &template.role
        {
            match &ask.role {
                None => ask.role = Some((format!("template {}", template.name), role.clone())),
                Some((_, asked)) if asked == role => {}
                Some((plugin, asked)) => {
                    return Err(Error::PolicyDenied(vec![crate::policy::Denial {
                        plugin: plugin.clone(),
                        reason: format!(
                            "it asks for database role {asked:?}, but the statement runs under role template \
                             {:?}, whose role is {role:?}",
                            template.name
                        ),
                        failure: None,
                    }]));
                }
            }
            let covered = grant.get_or_insert_with(|| covered.clone());
            record.grant = Some(covered.grant_id.clone());
        }
        let support = ds.connector.session_support();
        let session = session_for(name, &ds.settings.rls, support, principal, &ask, &analysis.facts)?;

        let rewrite_span = tracing::debug_span!(
            span::REWRITE,
            sluice.protected = field::Empty,
            sluice.filtered_relations = field::Empty,
            sluice.masked_columns = field::Empty
        );
        let started = Instant::now();
        let prepared = prepare(ds, &request.sql, analysis, outcome.as_ref(), principal, &request.params)
            .instrument(rewrite_span.clone())
            .await;
        record.timed(Stage::Rewrite, started);
        let prepared = prepared?;
        rewrite_span.record("sluice.protected", prepared.masks().is_some());
        // Names of the filters and masks are built only for a reader: the audit log or a
        // recorded span. Off, the protected hot path pays nothing for them.
        let named = self.audit.is_some() || !rewrite_span.is_disabled();
        if let (Some(_), Some(chain), true) = (prepared.masks(), &outcome, named) {
            record.protected_by(chain);
            rewrite_span.record("sluice.filtered_relations", record.filters.join(",").as_str());
            rewrite_span.record("sluice.masked_columns", record.masks.join(",").as_str());
        }

        let mode = if kind == StatementKind::Read { Mode::Read } else { Mode::Write };
        let mut limits = ds.settings.limits;
        // A statement never outlives the grant it runs under: its timeout ends with the grant,
        // and the grant's revocation stops it.
        let (cancel, _watch) = match grant {
            Some(grant) => {
                let left =
                    u64::try_from(grant.expires_at_ms.saturating_sub(access::now_ms())).unwrap_or(0).max(1);
                limits.statement_timeout = limits.statement_timeout.min(Duration::from_millis(left));
                let cancel = Cancel::new();
                let watch = self.access.watch(grant.grant_id, cancel.clone());
                (cancel, Some(watch))
            }
            None => (Cancel::NEVER, None),
        };
        let dialect = ds.connector.dialect();
        let execute_span = client_span(ds, name, dialect, analysis, &prepared);
        // Built from ids only, never from anything a caller or plugin chose (see `sql_comment`).
        let commented = self
            .telemetry
            .sql_comment
            .then(|| format!("{} {}", prepared.sql(), audit::sql_comment(&caller.trace_id, &execute_span)));
        let exec = ExecRequest {
            sql: commented.as_deref().unwrap_or(prepared.sql()),
            params: prepared.params(),
            mode,
            limits,
            session: &session,
            cancel: &cancel,
        };
        // The connector cancels on the server at the statement timeout; this outer bound only
        // catches a connector that fails to, so it leaves room for connecting and cancelling.
        let backstop = limits.statement_timeout + ds.settings.connect_timeout + Duration::from_secs(2);
        let protected = prepared.masks().is_some();
        // The decision is on record before the statement runs: with `fail_closed`, a
        // statement whose record cannot be written does not run.
        if let Some(audit) = &self.audit {
            let allowed = record.audit_entry(AuditEvent::Allowed, &principal.id, &caller.trace_id);
            match audit.append(allowed).await {
                Ok(_) => {}
                Err(e) if audit.fail_closed() => {
                    tracing::error!(error = %e, "cannot write the audit record; the statement does not run");
                    return Err(Error::AuditUnavailable(e));
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot write the audit record; the statement runs unrecorded")
                }
            }
        }
        record.executed = true;
        // Fields go on the stage span by handle: when it is disabled (the default filter),
        // `Span::current()` would be the request span.
        let executing = Instant::now();
        let result = async {
            tokio::time::timeout(backstop, ds.connector.execute(exec))
                .await
                .map_err(|_| ExecError::Timeout(limits.statement_timeout))?
                .map_err(|e| if protected { withhold_message(dialect, e) } else { e })
        }
        .instrument(execute_span.clone())
        .await;
        record.executed_in = Some(executing.elapsed());
        let result = result.inspect_err(|e| {
            execute_span.record("otel.status_code", "ERROR");
            // The database's own code where it gave one, as the conventions ask; else Sluice's.
            match e {
                ExecError::Upstream { code: Some(code), .. } => {
                    execute_span.record("db.response.status_code", code.as_str());
                    execute_span.record("error.type", code.as_str());
                }
                other => {
                    execute_span.record("error.type", other.code().as_str());
                }
            }
        })?;
        execute_span.record("db.response.returned_rows", result.rows.len());
        execute_span.record("sluice.truncated", result.truncated);
        record.rows = Some(result.rows.len());

        if kind == StatementKind::Ddl {
            ds.catalog.invalidate();
        }
        let started = Instant::now();
        let mut encoded = tracing::debug_span!(span::ENCODE, rows = result.rows.len())
            .in_scope(|| encode::encode(result, ds.settings.max_response_bytes));
        record.timed(Stage::Encode, started);
        if let Some(masks) = prepared.masks() {
            for (index, column) in encoded.columns.iter_mut().enumerate() {
                if let Some(kind) = masks.mask(index, &column.name) {
                    column.masked = true;
                    column.mask = Some(rewrite::kind_name(kind).to_owned());
                }
            }
        }
        // A write has committed by now: refusing its oversized RETURNING result would report a
        // change that happened as a failure, so writes are truncated (and say so) instead.
        if encoded.truncated && ds.settings.overflow == Overflow::Reject && mode == Mode::Read {
            return Err(Error::TooLarge(format!(
                "the result is larger than datasource {name:?} allows ({} rows, {} bytes); \
                 narrow the query or add a LIMIT",
                limits.max_rows, ds.settings.max_response_bytes
            )));
        }
        Ok(QueryResponse {
            row_count: encoded.rows.len(),
            columns: encoded.columns,
            rows: encoded.rows,
            truncated: encoded.truncated,
            command: encoded.command,
            rows_affected: encoded.rows_affected,
            trace_id: caller.trace_id.to_string(),
        })
    }

    /// The checks every statement passes before policy: a known datasource, the size limits,
    /// text the database can store, an analysis that holds, a kind the datasource allows, and
    /// one parameter per placeholder.
    ///
    /// # Errors
    /// The first check that fails.
    fn admit<'r>(&self, request: &'r QueryRequest) -> Result<(&'r str, &Datasource, Arc<Analysis>), Error> {
        let name = request.datasource.as_str();
        let ds = self
            .datasources
            .get(name)
            .ok_or_else(|| Error::InvalidRequest(format!("unknown datasource {name:?}")))?;
        if request.sql.len() > self.server.max_sql_bytes {
            return Err(Error::TooLarge(format!(
                "SQL text is {} bytes; the limit is {}",
                request.sql.len(),
                self.server.max_sql_bytes
            )));
        }
        if request.params.len() > self.server.max_params {
            return Err(Error::TooLarge(format!(
                "{} parameters; the limit is {}",
                request.params.len(),
                self.server.max_params
            )));
        }
        let dialect = ds.connector.dialect();
        if !dialect.accepts_nul_in_text() {
            let nul_param = request.params.iter().position(|p| p.as_str().is_some_and(|s| s.contains('\0')));
            if request.sql.contains('\0') {
                return Err(Error::InvalidRequest(format!(
                    "the statement contains a NUL character, which {} cannot store in text",
                    dialect.name()
                )));
            }
            if let Some(index) = nul_param {
                return Err(Error::InvalidRequest(format!(
                    "parameter {} contains a NUL character, which {} cannot store in text",
                    index + 1,
                    dialect.name()
                )));
            }
        }
        let analyse_span = tracing::debug_span!(
            span::ANALYSE,
            datasource = name,
            dialect = dialect.name(),
            kind = field::Empty,
            relations = field::Empty
        );
        let analysis = analyse_span
            .in_scope(|| ds.plans.analysis(&request.sql, || analyse::analyse(dialect, &request.sql)))?;
        analyse_span.record("kind", analysis.facts.kind.name());
        analyse_span.record("relations", analysis.facts.relations.len());
        let kind = analysis.facts.kind;
        if !ds.settings.statements.contains(&kind) {
            return Err(Error::KindNotAllowed { kind, datasource: name.to_string() });
        }
        if analysis.facts.placeholders != request.params.len() {
            return Err(Error::InvalidRequest(format!(
                "the statement has {} placeholder(s) but {} parameter(s) were given",
                analysis.facts.placeholders,
                request.params.len()
            )));
        }
        Ok((name, ds, analysis))
    }

    /// The policy chain's outcome for the statement, and the span it ran in; `None` when no
    /// plugin judges the datasource.
    #[allow(clippy::too_many_arguments)]
    async fn judge(
        &self,
        principal: &Principal,
        name: &str,
        ds: &Datasource,
        analysis: &Analysis,
        request: &QueryRequest,
        caller: &RequestContext,
        grants: &[Grant],
    ) -> Option<(ChainOutcome, tracing::Span)> {
        let policy = self.policy.as_ref().filter(|p| p.judges(name))?;
        let received_at_ms = u64::try_from(access::now_ms()).unwrap_or(0);
        let meta = RequestMeta {
            client_address: caller.client_address.clone(),
            justification: request.justification.clone(),
            received_at_ms,
            trace_id: caller.trace_id.to_string(),
        };
        let input = PolicyInput {
            principal,
            datasource: name,
            dialect: ds.connector.dialect(),
            facts: &analysis.facts,
            text: &analysis.sql,
            request: &meta,
            grants,
        };
        let policy_span = tracing::debug_span!(
            span::POLICY,
            sluice.plugins = field::Empty,
            sluice.verdicts = field::Empty,
            sluice.verdict = field::Empty,
            sluice.denied_by = field::Empty,
            sluice.annotations = field::Empty,
            sluice.grant = field::Empty
        );
        let chain = policy.evaluate(&input).instrument(policy_span.clone()).await;
        Some((chain, policy_span))
    }

    /// The live grants `principal` holds on datasource `name`, when anything could use them:
    /// plugins judging it, or role templates applying to it. The store failing must not stop
    /// statements that need no grant: they then see none, and a statement held for approval
    /// fails closed when it asks the store.
    async fn grants_for(&self, principal: &Principal, name: &str) -> Vec<Grant> {
        let judged = self.policy.as_ref().is_some_and(|p| p.judges(name));
        let templated = self.access.settings().templates.iter().any(|t| t.datasources.contains(name));
        if !judged && !templated {
            return Vec::new();
        }
        self.access.live_grants(&principal.id, name).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read live grants; none apply");
            Vec::new()
        })
    }

    /// The first live role-template grant among `grants` whose template covers the statement.
    fn covering_template<'g>(
        &'g self,
        name: &str,
        analysis: &Analysis,
        grants: &[Grant],
    ) -> Option<(&'g RoleTemplate, Covered)> {
        let now = access::now_ms();
        grants.iter().filter(|g| g.is_live(now)).find_map(|g| {
            let template = self.access.settings().template(g.template.as_deref()?)?;
            template
                .covers(name, &analysis.facts)
                .then(|| (template, Covered { grant_id: g.id.clone(), expires_at_ms: g.expires_at_ms }))
        })
    }

    /// Files an access request ahead of running the statement (`POST /v1/access-requests`):
    /// for a window grant, a chosen duration, or break-glass. The statement passes the same
    /// checks and the same policy chain as when it runs; only a statement the chain holds for
    /// approval can be asked for.
    ///
    /// # Errors
    /// What `query` would refuse before running it; `invalid_request` when no approval is
    /// needed, a justification is missing where required, or the duration is out of range;
    /// `forbidden` for break-glass without a break-glass role.
    pub async fn ask_ahead(
        &self,
        principal: &Principal,
        ask: AskAhead,
        caller: &RequestContext,
    ) -> Result<AccessRequest, Error> {
        let settings = self.access.settings();
        check_justification(ask.justification.as_deref())?;
        let justification = ask.justification.as_deref().map(str::trim).filter(|j| !j.is_empty());
        if justification.is_none() && (settings.require_justification || ask.break_glass) {
            return Err(Error::InvalidRequest(match ask.break_glass {
                true => "break-glass access needs a justification".into(),
                false => "access requests on this Sluice need a justification".into(),
            }));
        }
        let asked = [ask.sql.is_some(), ask.template.is_some(), ask.relation.is_some()];
        if asked.iter().filter(|a| **a).count() != 1 {
            return Err(Error::InvalidRequest(
                "ask for exactly one of `sql`, `template` and `relation`".into(),
            ));
        }
        if ask.relation.is_none() && !ask.statements.is_empty() {
            return Err(Error::InvalidRequest("`statements` goes with `relation` only".into()));
        }
        let template = match &ask.template {
            Some(name) => {
                let template = settings
                    .template(name)
                    .filter(|t| t.datasources.contains(&ask.datasource))
                    .ok_or_else(|| {
                        Error::InvalidRequest(format!(
                            "no role template {name:?} applies to datasource {:?}",
                            ask.datasource
                        ))
                    })?;
                if !ask.params.is_empty() {
                    return Err(Error::InvalidRequest("a role template takes no params".into()));
                }
                Some(template)
            }
            None => None,
        };
        let mut cap = match ask.break_glass {
            true => settings.break_glass_max.min(settings.max_grant),
            false => settings.max_grant,
        };
        if let Some(template) = template {
            cap = cap.min(template.max_duration);
        }
        if let Some(seconds) = ask.duration_seconds
            && !(1..=cap.as_secs()).contains(&seconds)
        {
            return Err(Error::InvalidRequest(format!(
                "duration_seconds {seconds} is out of range 1..={}",
                cap.as_secs()
            )));
        }
        if ask.break_glass && !principal.roles.iter().any(|r| settings.break_glass_roles.contains(r)) {
            return Err(Error::Access(AccessError::Forbidden(
                "break-glass access needs a break-glass role, which you do not hold".into(),
            )));
        }
        let new = match (template, &ask.relation) {
            (Some(template), _) => NewRequest {
                principal: principal.id.clone(),
                statement: StatementAsked {
                    datasource: ask.datasource.clone(),
                    kind: "template".into(),
                    text: String::new(),
                    params: Vec::new(),
                    fingerprint: String::new(),
                    relations: Vec::new(),
                },
                template: Some(template.name.clone()),
                relation: None,
                max_seconds: Some(template.max_duration.as_secs()),
                min_approvals: Some(template.min_approvals),
                per_group: Some(template.approval_per_group),
                reasons: vec![format!("role template {}: {}", template.name, template.description)],
                plugins: Vec::new(),
                approver_groups: template.approvers.clone(),
                justification: ask.justification.clone(),
                suggested_seconds: None,
                requested_seconds: ask.duration_seconds,
                // A template's grant covers whatever it permits until it expires.
                uses: GrantUses::Window,
                break_glass: ask.break_glass,
            },
            (None, Some(relation)) => self.ask_for_relation(principal, relation, &ask).await?,
            (None, None) => self.ask_for_statement(principal, ask, caller).await?,
        };
        let filed = self.access.ask(new).await?;
        if filed.break_glass {
            tracing::warn!(
                request = filed.id.as_str(),
                principal = principal.id.as_str(),
                datasource = filed.datasource.as_str(),
                "break-glass access taken; it awaits review by someone else"
            );
        } else {
            tracing::info!(request = filed.id.as_str(), "access request pending");
        }
        Ok(filed)
    }

    /// The request content for asking ahead for a statement: it passes the checks and the
    /// policy chain it would pass when run, and must be one the chain holds for approval.
    async fn ask_for_statement(
        &self,
        principal: &Principal,
        ask: AskAhead,
        caller: &RequestContext,
    ) -> Result<NewRequest, Error> {
        let request = QueryRequest {
            datasource: ask.datasource,
            sql: ask.sql.unwrap_or_default(),
            params: ask.params,
            justification: ask.justification,
        };
        let (name, ds, analysis) = self.admit(&request)?;
        let grants = self.grants_for(principal, name).await;
        let effective = effective_principal(principal, &grants);
        let Some((chain, policy_span)) =
            self.judge(&effective, name, ds, &analysis, &request, caller, &grants).await
        else {
            return Err(Error::InvalidRequest(format!(
                "no policy plugin judges datasource {name:?}: its statements need no approval"
            )));
        };
        let asked = match enforce(&chain, &policy_span) {
            Ok(()) => {
                return Err(Error::InvalidRequest(
                    "the policy allows this statement without approval: send it to /v1/query".into(),
                ));
            }
            Err(Error::ApprovalRequired(asked, _)) => asked,
            Err(e) => return Err(e),
        };
        Ok(NewRequest {
            principal: principal.id.clone(),
            statement: asked_statement(name, &analysis, &request),
            template: None,
            relation: None,
            max_seconds: None,
            min_approvals: None,
            per_group: None,
            reasons: asked.reasons.clone(),
            plugins: asked.plugins.clone(),
            approver_groups: asked.approver_groups.iter().cloned().collect(),
            justification: request.justification.clone(),
            suggested_seconds: asked.suggested_duration_seconds.map(u64::from),
            requested_seconds: ask.duration_seconds,
            uses: ask.uses,
            break_glass: ask.break_glass,
        })
    }

    /// The request content for asking ahead for a relation: a window over statements of some
    /// kinds that touch that relation only. The relation must exist on a datasource the policy
    /// judges; `[access] approvers` review it, as no plugin has seen a statement to name others.
    async fn ask_for_relation(
        &self,
        principal: &Principal,
        relation: &str,
        ask: &AskAhead,
    ) -> Result<NewRequest, Error> {
        let name = ask.datasource.as_str();
        let ds = self
            .datasources
            .get(name)
            .ok_or_else(|| Error::InvalidRequest(format!("unknown datasource {name:?}")))?;
        if !self.policy.as_ref().is_some_and(|p| p.judges(name)) {
            return Err(Error::InvalidRequest(format!(
                "no policy plugin judges datasource {name:?}: its statements need no approval"
            )));
        }
        let approvers = self.access.settings().approvers.clone();
        if approvers.is_empty() {
            return Err(Error::InvalidRequest(
                "relation requests are reviewed by `[access] approvers`, and this Sluice names none".into(),
            ));
        }
        let parts: Vec<&str> = relation.split('.').collect();
        let wanted = match parts.as_slice() {
            [name] => RelationName { schema: None, name: (*name).to_owned() },
            [schema, name] => RelationName { schema: Some((*schema).to_owned()), name: (*name).to_owned() },
            _ => return Err(Error::InvalidRequest(format!("{relation:?} is not `name` or `schema.name`"))),
        };
        let catalog = ds.catalog.get(ds.connector.as_ref()).await?;
        let Some((resolved, _)) = catalog.resolve(&wanted) else {
            return Err(Error::InvalidRequest(format!("datasource {name:?} has no relation {relation:?}")));
        };
        let default = ["read".to_string()];
        let asked = if ask.statements.is_empty() { &default[..] } else { &ask.statements[..] };
        let mut statements = Vec::new();
        for kind in asked {
            let known = RELATION_KINDS.iter().find(|k| k.name() == kind).ok_or_else(|| {
                Error::InvalidRequest(format!(
                    "statement kind {kind:?} is not one of read, insert, update, delete"
                ))
            })?;
            if !statements.contains(&known.name().to_string()) {
                statements.push(known.name().to_string());
            }
        }
        let resolved = resolved.to_string();
        Ok(NewRequest {
            principal: principal.id.clone(),
            statement: StatementAsked {
                datasource: name.to_string(),
                kind: "relation".into(),
                text: String::new(),
                params: Vec::new(),
                fingerprint: String::new(),
                relations: vec![resolved.clone()],
            },
            template: None,
            reasons: vec![format!("{} on relation {resolved}", statements.join(", "))],
            relation: Some(RelationAsked { relation: resolved, statements }),
            max_seconds: None,
            min_approvals: None,
            per_group: None,
            plugins: Vec::new(),
            approver_groups: approvers,
            justification: ask.justification.clone(),
            suggested_seconds: None,
            requested_seconds: ask.duration_seconds,
            // A relation's grant covers statements of many shapes until it expires.
            uses: GrantUses::Window,
            break_glass: ask.break_glass,
        })
    }

    /// The first live relation grant among `grants` that covers the statement: its kind is one
    /// the grant names, and every relation it touches resolves to the granted one. Only asked
    /// when the policy holds a statement, so the catalog is read only then.
    async fn covering_relation(
        &self,
        ds: &Datasource,
        analysis: &Analysis,
        grants: &[Grant],
    ) -> Option<Covered> {
        let now = access::now_ms();
        // Collected before the `await`: a lazy iterator held across it would make the request's
        // future lose `Send`.
        let mut live: Vec<(&Grant, &RelationAsked)> = Vec::new();
        for grant in grants {
            if let Some(relation) = grant.relation.as_ref().filter(|_| grant.is_live(now)) {
                live.push((grant, relation));
            }
        }
        if live.is_empty() || analysis.facts.relations.is_empty() {
            return None;
        }
        let catalog = ds.catalog.get(ds.connector.as_ref()).await.ok()?;
        let touched = analysis
            .facts
            .relations
            .iter()
            .map(|r| catalog.resolve(&r.relation).map(|(resolved, _)| resolved.to_string()))
            .collect::<Option<Vec<String>>>()?;
        let kind = analysis.facts.kind.name();
        live.into_iter()
            .find(|(_, r)| r.statements.iter().any(|s| s == kind) && touched.iter().all(|t| *t == r.relation))
            .map(|(g, _)| Covered { grant_id: g.id.clone(), expires_at_ms: g.expires_at_ms })
    }

    /// A statement the policy chain holds for approval: runs under a live grant that covers
    /// it, or files (or joins) an access request and answers `approval_required`.
    ///
    /// # Errors
    /// [`Error::ApprovalRequired`] with the request; `conflict` when the one-time grant for
    /// exactly this statement was already used; `unavailable` when the store cannot be reached.
    async fn hold(
        &self,
        principal: &Principal,
        datasource: &str,
        analysis: &Analysis,
        request: &QueryRequest,
        asked: ApprovalRequest,
    ) -> Result<Covered, Error> {
        let statement = asked_statement(datasource, analysis, request);
        check_justification(request.justification.as_deref())?;
        match self.access.cover(&principal.id, &statement).await? {
            Coverage::Covered(covered) => {
                tracing::info!(grant = covered.grant_id.as_str(), "access grant used");
                Ok(covered)
            }
            Coverage::Used { grant_id } => Err(Error::Access(AccessError::Conflict(format!(
                "the one-time grant {grant_id} for this statement was already used; it runs once per \
                 approval (after the grant's expiry, sending it again asks anew)"
            )))),
            Coverage::None => {
                let new = NewRequest {
                    principal: principal.id.clone(),
                    statement,
                    reasons: asked.reasons.clone(),
                    plugins: asked.plugins.clone(),
                    approver_groups: asked.approver_groups.iter().cloned().collect(),
                    justification: request.justification.clone(),
                    suggested_seconds: asked.suggested_duration_seconds.map(u64::from),
                    template: None,
                    relation: None,
                    max_seconds: None,
                    min_approvals: None,
                    per_group: None,
                    requested_seconds: None,
                    uses: GrantUses::Once,
                    break_glass: false,
                };
                let filed = self.access.ask(new).await?;
                tracing::info!(request = filed.id.as_str(), "access request pending");
                Err(Error::ApprovalRequired(asked, Some(Box::new(filed))))
            }
        }
    }

    /// Pings every datasource concurrently; `true` for each that answered within `timeout`.
    pub async fn readiness(&self, timeout: Duration) -> BTreeMap<String, bool> {
        let mut out: BTreeMap<String, bool> =
            self.datasources.keys().map(|name| (name.clone(), false)).collect();
        let mut pings = tokio::task::JoinSet::new();
        for (name, ds) in &self.datasources {
            let (name, connector) = (name.clone(), Arc::clone(&ds.connector));
            pings.spawn(async move {
                let ok = matches!(tokio::time::timeout(timeout, connector.ping()).await, Ok(Ok(())));
                (name, ok)
            });
        }
        while let Some(joined) = pings.join_next().await {
            if let Ok((name, ok)) = joined {
                out.insert(name, ok);
            }
        }
        out
    }
}

/// Records the chain's outcome on the policy span and turns its verdict into the request's
/// fate. Row filters and masks are applied by the rewrite stage ([`prepare`]), session
/// settings and roles by [`session_for`].
fn enforce(outcome: &ChainOutcome, span: &tracing::Span) -> Result<(), Error> {
    span.record("sluice.verdict", outcome.verdict.name());
    if !span.is_disabled() {
        span.record("sluice.plugins", outcome.plugins.join(",").as_str());
        let verdicts: Vec<String> =
            outcome.verdicts().map(|(plugin, verdict)| format!("{plugin}={verdict}")).collect();
        span.record("sluice.verdicts", verdicts.join(",").as_str());
        if !outcome.annotations.is_empty() {
            span.record("sluice.annotations", field::debug(&outcome.annotations));
        }
    }
    match &outcome.verdict {
        ChainVerdict::Deny(denials) => {
            if let Some(first) = denials.first() {
                span.record("sluice.denied_by", first.plugin.as_str());
            }
            Err(Error::PolicyDenied(denials.clone()))
        }
        ChainVerdict::RequireApproval(request) => Err(Error::ApprovalRequired(request.clone(), None)),
        ChainVerdict::Allow => Ok(()),
    }
}

/// The execute stage's span: a CLIENT span following the OpenTelemetry database conventions,
/// named by the statement's summary (`SELECT customers`). Its text is the parameterised one
/// Sluice sends, literals replaced by `?`, never values; it is worked out only when the span is
/// recorded.
fn client_span(
    ds: &Datasource,
    name: &str,
    dialect: Dialect,
    analysis: &Analysis,
    prepared: &Prepared<'_>,
) -> tracing::Span {
    let facts = &analysis.facts;
    let span = tracing::debug_span!(
        span::EXECUTE,
        otel.name = field::Empty,
        otel.kind = "client",
        otel.status_code = field::Empty,
        db.system.name = dialect.telemetry_name(),
        db.namespace = ds.server.namespace.as_deref(),
        db.collection.name = field::Empty,
        db.operation.name = facts.kind.operation_name(),
        db.query.summary = field::Empty,
        db.query.text = field::Empty,
        db.response.status_code = field::Empty,
        db.response.returned_rows = field::Empty,
        error.type = field::Empty,
        server.address = ds.server.address.as_deref(),
        server.port = ds.server.port,
        datasource = name,
        sluice.truncated = field::Empty,
    );
    if !span.is_disabled() {
        let summary = audit::summary(facts);
        span.record("otel.name", summary.as_str());
        span.record("db.query.summary", summary.as_str());
        if let Some(collection) = audit::collection(facts) {
            span.record("db.collection.name", collection.as_str());
        }
        let text = match prepared {
            Prepared::Unchanged { .. } => analysis.query_text(),
            Prepared::Rewritten { rewritten, .. } => rewritten.query_text(dialect),
        };
        span.record("db.query.text", text);
    }
    span
}

/// `principal` as plugins see it: with the name of each role template it holds a live grant
/// of, as one more role.
fn effective_principal<'p>(principal: &'p Principal, grants: &[Grant]) -> std::borrow::Cow<'p, Principal> {
    let now = access::now_ms();
    let mut templates =
        grants.iter().filter(|g| g.is_live(now)).filter_map(|g| g.template.as_ref()).peekable();
    if templates.peek().is_none() {
        return std::borrow::Cow::Borrowed(principal);
    }
    let mut effective = principal.clone();
    for name in templates {
        if !effective.roles.contains(name) {
            effective.roles.push(name.clone());
        }
    }
    std::borrow::Cow::Owned(effective)
}

/// The statement kinds a relation may be asked for.
const RELATION_KINDS: [StatementKind; 4] =
    [StatementKind::Read, StatementKind::Insert, StatementKind::Update, StatementKind::Delete];

/// Longest justification an access request keeps, in bytes.
const MAX_JUSTIFICATION_BYTES: usize = 4096;

/// Refuses a justification too long to record.
fn check_justification(justification: Option<&str>) -> Result<(), Error> {
    match justification {
        Some(j) if j.len() > MAX_JUSTIFICATION_BYTES => Err(Error::InvalidRequest(format!(
            "the justification is {} bytes; the limit is {MAX_JUSTIFICATION_BYTES}",
            j.len()
        ))),
        _ => Ok(()),
    }
}

/// What an access request records of the statement it asks to run.
fn asked_statement(datasource: &str, analysis: &Analysis, request: &QueryRequest) -> StatementAsked {
    let facts = &analysis.facts;
    StatementAsked {
        datasource: datasource.to_owned(),
        kind: facts.kind.name().to_owned(),
        text: analysis.sql.clone(),
        params: request.params.clone(),
        fingerprint: facts.fingerprint.clone(),
        relations: facts
            .relations
            .iter()
            .map(|r| r.relation.to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
    }
}

/// The statement to send and its parameters: the analysed text unchanged, or its rewrite.
enum Prepared<'a> {
    /// The analysed text runs as it is.
    Unchanged { sql: &'a str, params: &'a [serde_json::Value] },
    /// Rewritten for row filters or masks (perhaps by an earlier request: the plan cache's),
    /// with its parameters bound for this request.
    Rewritten { rewritten: Arc<Rewritten>, params: Vec<serde_json::Value> },
}

impl Prepared<'_> {
    fn sql(&self) -> &str {
        match self {
            Prepared::Unchanged { sql, .. } => sql,
            Prepared::Rewritten { rewritten, .. } => &rewritten.sql,
        }
    }

    fn params(&self) -> &[serde_json::Value] {
        match self {
            Prepared::Unchanged { params, .. } => params,
            Prepared::Rewritten { params, .. } => params,
        }
    }

    /// Which output columns are masked; `None` when the statement was not rewritten.
    fn masks(&self) -> Option<&OutputMasks> {
        match self {
            Prepared::Unchanged { .. } => None,
            Prepared::Rewritten { rewritten, .. } => Some(&rewritten.masks),
        }
    }
}

/// The rewrite stage: checks that the statement names only relations the catalog knows, and
/// applies the chain's row filters and masks.
///
/// Only reads and DML are checked against the catalog: DDL names relations that do not exist
/// yet, and the database answers for the rest. A read's rewrite comes from the datasource's
/// plan cache when the same text was rewritten under the same decision and catalog before.
async fn prepare<'a>(
    ds: &Datasource,
    text: &str,
    analysis: &'a Analysis,
    outcome: Option<&ChainOutcome>,
    principal: &Principal,
    params: &'a [serde_json::Value],
) -> Result<Prepared<'a>, Error> {
    let unchanged = || Prepared::Unchanged { sql: &analysis.sql, params };
    let kind = analysis.facts.kind;
    let dialect = ds.connector.dialect();
    // DDL and TRUNCATE skip the catalog check below (they name relations that may not exist
    // yet), but never a system catalog.
    if let Some(system) = analysis.facts.relations.iter().find(|r| dialect.is_system_relation(&r.relation)) {
        return Err(RewriteError::UnknownRelation(system.relation.to_string()).into());
    }
    let plain = matches!(
        kind,
        StatementKind::Read | StatementKind::Insert | StatementKind::Update | StatementKind::Delete
    );
    if outcome.is_some() {
        rewrite::check_hidden_reads(&analysis.facts)?;
    }
    let protected = outcome.filter(|o| !o.row_filters.is_empty() || !o.column_masks.is_empty());
    if !plain && protected.is_none() {
        return Ok(unchanged());
    }
    let catalog = known_catalog(ds, dialect, analysis).await?;
    let Some(outcome) = protected else {
        return Ok(unchanged());
    };
    // Keyed by the caller's text, of which `analysis` is a pure function (the rewrite finds
    // nodes by their source positions). Only reads are cached: a write's rewrite also checks
    // the values it writes.
    let cacheable = kind == StatementKind::Read;
    if cacheable
        && let Some(rewritten) = ds.plans.rewrite(text, outcome, &catalog)
        && let Some(params) = rewritten.rebind(principal, params)
    {
        return Ok(Prepared::Rewritten { rewritten, params });
    }
    let protection = rewrite::plan(dialect, outcome, &catalog, &ds.settings.writable_masked_columns)?;
    if protection.is_empty() {
        return Ok(unchanged());
    }
    let rewritten = rewrite::rewrite(RewriteInput {
        dialect,
        analysis,
        catalog: &catalog,
        protection: &protection,
        principal,
        params,
        secret: ds.settings.mask_secret.as_ref().map(|s| s.expose()),
    })?;
    let rewritten = Arc::new(rewritten);
    if cacheable {
        ds.plans.keep_rewrite(text, outcome, &catalog, Arc::clone(&rewritten));
    }
    Ok(Prepared::Rewritten { params: rewritten.params.clone(), rewritten })
}

/// The datasource's catalog, once it lists every relation and column the statement names: one it
/// lacks makes it re-read (a table may have been created or altered since), and one still
/// missing then is refused before the statement reaches the database. System catalogs (`pg_catalog`,
/// `information_schema`, `mysql`, `sqlite_master`) are not in it, so they are refused too.
async fn known_catalog(
    ds: &Datasource,
    dialect: Dialect,
    analysis: &Analysis,
) -> Result<Arc<Catalog>, Error> {
    let missing = |catalog: &Catalog| {
        analysis
            .facts
            .relations
            .iter()
            .map(|access| &access.relation)
            .filter(|r| !dialect.is_pseudo_relation(r))
            .find(|r| catalog.resolve(r).is_none())
            .cloned()
    };
    let catalog = ds.catalog.get(ds.connector.as_ref()).await?;
    if missing(&catalog).is_none() && rewrite::unknown_column(dialect, &catalog, analysis).is_none() {
        return Ok(catalog);
    }
    let catalog = ds.catalog.reload(ds.connector.as_ref(), MIN_RELOAD).await?;
    if let Some(relation) = missing(&catalog) {
        return Err(RewriteError::UnknownRelation(relation.to_string()).into());
    }
    if let Some((relation, column)) = rewrite::unknown_column(dialect, &catalog, analysis) {
        return Err(RewriteError::UnknownColumn { relation, column }.into());
    }
    Ok(catalog)
}

/// Replaces a database error's message by a generic one unless its code says it cannot quote
/// data: over protected relations, a message such as `invalid input syntax for type integer:
/// "123-45-6789"` would show a value the rewrite hid. The code is kept, so callers can still
/// tell a constraint violation from a type error.
fn withhold_message(dialect: Dialect, error: ExecError) -> ExecError {
    match error {
        ExecError::Upstream { code, message } => {
            let safe = code.as_deref().is_some_and(|code| dialect.error_is_safe_to_show(code, &message));
            let message = if safe {
                message
            } else {
                "the database rejected the statement; its message is withheld because the statement reads \
                 protected relations and the message may quote their data"
                    .to_owned()
            };
            ExecError::Upstream { code, message }
        }
        other => other,
    }
}
