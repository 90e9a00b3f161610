//! Just-in-time access: access requests, their review, and the grants approval creates.
//!
//! A statement whose policy chain answers `require-approval` is held, not run. Unless a live
//! grant covers it, Sluice files an **access request** (or joins the identical one still
//! pending) and answers `202` with its id. Approvers, principals holding a role named in the
//! request's approver groups, approve or reject it over the API; the requester never reviews
//! their own request, whatever their roles. Once `min_approvals` distinct approvers have
//! approved, the request becomes a **grant** with an absolute expiry, and the statement runs when
//! the requester sends it again:
//!
//! ```text
//! pending ──approve × min_approvals──> approved ──> grant (live until used, revoked or expired)
//!    │ ──reject (any one)──────────> rejected
//!    └ ──pending_ttl passes─────────> expired
//! ```
//!
//! What a grant covers is decided by construction, so no plugin has to get it right: a
//! `require-approval` verdict is satisfied by a live grant of the same principal on the same
//! datasource, and
//! - a **one-time** grant (the default) covers exactly the approved statement: the same
//!   normalised text and the same parameters. Using it consumes it atomically, so of concurrent
//!   replays one runs and the others get `409 conflict`;
//! - a **window** grant covers any statement with the approved fingerprint (same shape and
//!   relations, any constants and parameters) until it expires.
//!
//! A statement run under a grant never outlives it: its timeout is cut to the grant's expiry.
//! Deny verdicts are never overridden: the chain only asks for approval when no plugin denied.
//!
//! Everything lives in the [`store`] (an embedded SQLite file by default, or a PostgreSQL
//! database that several Sluice processes share), each change one transaction, every time a
//! UTC millisecond count. The store opens on first use: a Sluice whose plugins never ask for
//! approval never creates it, and a store that cannot be opened fails the statements that need
//! it with `503 unavailable` while every other statement runs as before.
//!
//! Besides a statement, one may ask for a role template (see [`RoleTemplate`]) or a relation
//! ([`RelationAsked`]): statements of some kinds over that one relation, any shape, until the
//! grant expires.

pub mod notify;
mod review;
pub mod store;
mod template;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

pub use notify::{EventKind, Webhook, WebhookFormat};
pub use review::{Decision, may_see};
pub use store::Store;
pub use template::{RelationPattern, RoleTemplate};

use crate::auth::Principal;
use crate::execute::Cancel;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// The current time in [`Millis`].
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX))
}

/// Validated `[access]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessSettings {
    /// Where requests, reviews and grants are kept.
    pub store: StoreLocation,
    /// Approver groups of a request whose plugins named none.
    pub approvers: Vec<String>,
    /// Distinct approvals a request needs.
    pub min_approvals: u32,
    /// Approvals must also include one by a holder of each of the request's approver groups.
    pub approval_per_group: bool,
    /// How long a request stays pending before it expires.
    pub pending_ttl: Duration,
    /// A grant's duration when the plugins suggested none.
    pub default_grant: Duration,
    /// The longest grant, whatever was suggested or asked.
    pub max_grant: Duration,
    /// Requests must carry a justification.
    pub require_justification: bool,
    /// Pending requests one principal may have at once.
    pub max_pending_per_principal: u32,
    /// Roles whose holders may take break-glass access; empty turns break-glass off.
    pub break_glass_roles: Vec<String>,
    /// The longest break-glass grant.
    pub break_glass_max: Duration,
    /// Role templates, by configured order.
    pub templates: Vec<RoleTemplate>,
    /// Webhooks told of every transition they want.
    pub webhooks: Vec<Webhook>,
}

/// Where the access store lives.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An embedded SQLite file, created on first use.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database (a `postgres://` URL), shared by every Sluice that names it.
    Postgres(String),
}

impl StoreLocation {
    /// False only for a SQLite file not yet created: reading it must not create it.
    pub fn may_exist(&self) -> bool {
        match self {
            StoreLocation::Sqlite(path) => path.exists(),
            StoreLocation::Postgres(_) => true,
        }
    }
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            StoreLocation::Postgres(url) => {
                f.debug_tuple("Postgres").field(&crate::config::redact_url(url)).finish()
            }
        }
    }
}

impl AccessSettings {
    /// The template named `name`.
    pub fn template(&self, name: &str) -> Option<&RoleTemplate> {
        self.templates.iter().find(|t| t.name == name)
    }
}

/// Why an access operation failed. Each message is safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// No such request or grant, or none the caller may see.
    #[error("{0}")]
    NotFound(String),
    /// The caller may not do this (not an approver, their own request).
    #[error("{0}")]
    Forbidden(String),
    /// The request or grant is not in a state that allows this (decided, expired, used).
    #[error("{0}")]
    Conflict(String),
    /// The access store cannot be reached; nothing changed.
    #[error("the access store is unavailable: {0}")]
    Unavailable(String),
}

/// A request's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for approvals.
    Pending,
    /// Approved; its grant exists.
    Approved,
    /// Rejected by an approver.
    Rejected,
    /// Not decided within the pending time.
    Expired,
}

impl RequestStatus {
    /// The name stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Expired => "expired",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [RequestStatus::Pending, RequestStatus::Approved, RequestStatus::Rejected, RequestStatus::Expired]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// How often a grant may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantUses {
    /// Exactly the approved statement, once.
    #[default]
    Once,
    /// Any statement of the approved fingerprint, until expiry.
    Window,
}

impl GrantUses {
    /// The name stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            GrantUses::Once => "once",
            GrantUses::Window => "window",
        }
    }

    /// The value named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [GrantUses::Once, GrantUses::Window].into_iter().find(|u| u.name() == name)
    }
}

/// The statement a request asks to run, as the analyser saw it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StatementAsked {
    /// The datasource.
    pub datasource: String,
    /// The statement kind (`read`, `write`, `ddl`, ...).
    pub kind: String,
    /// The normalised statement text (as Sluice verified it, before any rewrite).
    pub text: String,
    /// The parameters, as sent.
    #[schema(value_type = Vec<Object>)]
    pub params: Vec<serde_json::Value>,
    /// The literal-free fingerprint a window grant covers.
    pub fingerprint: String,
    /// The relations it touches, `schema.name`.
    pub relations: Vec<String>,
}

/// A relation asked for: statements of some kinds over one relation, any shape, for a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RelationAsked {
    /// The relation, `schema.name` as the datasource's catalog names it.
    pub relation: String,
    /// The statement kinds allowed over it (`read`, `update`, ...).
    pub statements: Vec<String>,
}

/// One approver's decision on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Review {
    /// The approver's principal id.
    pub reviewer: String,
    /// `approve` or `reject`.
    pub decision: Decision,
    /// The approver's comment.
    pub comment: Option<String>,
    /// When, milliseconds since the Unix epoch (UTC).
    pub at_ms: Millis,
    /// The request's approver groups the reviewer held.
    pub groups: Vec<String>,
}

/// An access request and its reviews.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccessRequest {
    /// Its id.
    pub id: String,
    /// Who asked.
    pub principal: String,
    /// Where.
    pub datasource: String,
    /// The statement they asked to run; `None` for a role template or a relation.
    pub statement: Option<StatementAsked>,
    /// The role template they asked for, if that is what they asked for.
    pub template: Option<String>,
    /// The relation they asked for, if that is what they asked for.
    pub relation: Option<RelationAsked>,
    /// Each plugin's reason, in chain order.
    pub reasons: Vec<String>,
    /// The plugins that asked for approval.
    pub plugins: Vec<String>,
    /// Roles whose holders may approve.
    pub approver_groups: Vec<String>,
    /// Distinct approvals needed.
    pub min_approvals: u32,
    /// Whether the approvals must also include one by a holder of each approver group.
    pub per_group: bool,
    /// The requester's justification.
    pub justification: Option<String>,
    /// What the grant will allow.
    pub uses: GrantUses,
    /// How long the grant will last once approved, seconds.
    pub duration_seconds: u64,
    /// Its state.
    pub status: RequestStatus,
    /// When it was filed, milliseconds since the Unix epoch (UTC).
    pub created_at_ms: Millis,
    /// When it expires if still pending.
    pub expires_at_ms: Millis,
    /// Decisions so far, in order.
    pub reviews: Vec<Review>,
    /// The grant its approval created.
    pub grant_id: Option<String>,
    /// Taken without approval by a break-glass role: granted at once, and awaiting review
    /// by someone else until `reviews` holds one.
    pub break_glass: bool,
}

impl AccessRequest {
    /// Approvals so far.
    pub fn approvals(&self) -> usize {
        self.reviews.iter().filter(|r| r.decision == Decision::Approve).count()
    }
}

/// A grant: the right to run what a request asked, for a bounded time.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Grant {
    /// Its id.
    pub id: String,
    /// The request it came from.
    pub request_id: String,
    /// Who holds it.
    pub principal: String,
    /// Where.
    pub datasource: String,
    /// The statement it covers; `None` for a role template's or a relation's grant.
    pub statement: Option<StatementAsked>,
    /// The role template it grants, if any.
    pub template: Option<String>,
    /// The relation it opens, if any.
    pub relation: Option<RelationAsked>,
    /// Once or for its window.
    pub uses: GrantUses,
    /// Who approved it.
    pub approved_by: Vec<String>,
    /// Roles whose holders approved it and may revoke it.
    pub approver_groups: Vec<String>,
    /// When it was created, milliseconds since the Unix epoch (UTC).
    pub created_at_ms: Millis,
    /// When it ends, whatever happens.
    pub expires_at_ms: Millis,
    /// When a one-time grant was used.
    pub used_at_ms: Option<Millis>,
    /// When it was revoked, by whom and why.
    pub revoked: Option<Revocation>,
}

impl Grant {
    /// True while it may still cover a statement at `now`.
    pub fn is_live(&self, now: Millis) -> bool {
        self.revoked.is_none() && self.used_at_ms.is_none() && now < self.expires_at_ms
    }
}

/// A grant's revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Revocation {
    /// Who revoked it.
    pub by: String,
    /// Why.
    pub reason: Option<String>,
    /// When, milliseconds since the Unix epoch (UTC).
    pub at_ms: Millis,
}

/// What the policy chain asked for, and what the requester sent: a new request's content.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// The requester.
    pub principal: String,
    /// The statement; for a template or a relation, only its `datasource` is set.
    pub statement: StatementAsked,
    /// The role template asked for, instead of the statement.
    pub template: Option<String>,
    /// The relation asked for, instead of the statement.
    pub relation: Option<RelationAsked>,
    /// The template's cap on the grant's duration, seconds.
    pub max_seconds: Option<u64>,
    /// The template's approvals needed (default `[access] min_approvals`).
    pub min_approvals: Option<u32>,
    /// The template's one-approval-per-group rule (default `[access] approval_per_group`).
    pub per_group: Option<bool>,
    /// The plugins' reasons.
    pub reasons: Vec<String>,
    /// The plugins that asked.
    pub plugins: Vec<String>,
    /// The plugins' approver groups (empty: the configured default).
    pub approver_groups: Vec<String>,
    /// The requester's justification.
    pub justification: Option<String>,
    /// The shortest duration a plugin suggested.
    pub suggested_seconds: Option<u64>,
    /// The duration the requester asked for, if any (before the cap).
    pub requested_seconds: Option<u64>,
    /// What the grant will allow.
    pub uses: GrantUses,
    /// Granted at once, reviewed after the fact.
    pub break_glass: bool,
}

/// What a live grant lets a held statement do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Covered {
    /// The grant.
    pub grant_id: String,
    /// Its expiry: the statement must end by then.
    pub expires_at_ms: Millis,
}

/// The answer to "may this held statement run?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// A live grant covers it (a one-time grant is now used).
    Covered(Covered),
    /// A one-time grant covered exactly this statement and was already used (a replay).
    Used {
        /// The grant.
        grant_id: String,
    },
    /// Nothing covers it.
    None,
}

/// Sluice's access requests and grants: the settings and the store, opened on first use.
pub struct Access {
    settings: AccessSettings,
    store: tokio::sync::OnceCell<Arc<Store>>,
    /// When the store was last seen absent or failed to open (before it is opened).
    absent_at_ms: AtomicI64,
    /// The webhook worker, stopped when this is dropped.
    _delivery: Option<Watch>,
}

impl Access {
    /// Access with `settings`; touches nothing on disk yet. With webhooks configured and a
    /// Tokio runtime current, starts the worker that delivers the outbox (including what an
    /// earlier process left undelivered).
    pub fn new(settings: AccessSettings) -> Self {
        let delivery = match (settings.webhooks.is_empty(), tokio::runtime::Handle::try_current()) {
            (false, Ok(runtime)) => {
                let task = notify::deliver(settings.store.clone(), settings.webhooks.clone());
                Some(Watch(runtime.spawn(task)))
            }
            _ => None,
        };
        Access {
            settings,
            store: tokio::sync::OnceCell::new(),
            absent_at_ms: AtomicI64::new(Millis::MIN),
            _delivery: delivery,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &AccessSettings {
        &self.settings
    }

    /// The store, opened (and migrated) on first use. A failure is not remembered: the next
    /// call tries again.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`] when the store cannot be opened.
    pub async fn store(&self) -> Result<&Arc<Store>, AccessError> {
        self.store
            .get_or_try_init(|| async {
                let (location, webhooks) = (self.settings.store.clone(), self.settings.webhooks.clone());
                blocking(move || Store::open(&location).map(|s| Arc::new(s.with_webhooks(webhooks)))).await
            })
            .await
            .inspect_err(|_| {
                // Statements that only read grants believe "none" for a moment rather than
                // each trying a store that just failed to open.
                self.absent_at_ms.store(now_ms(), Ordering::Release);
            })
    }

    /// Runs `f` on the store on a blocking thread: SQLite calls block, and a write waits for
    /// the disk.
    async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, AccessError> + Send + 'static,
    ) -> Result<T, AccessError> {
        let store = Arc::clone(self.store().await?);
        blocking(move || f(&store)).await
    }

    /// How many access requests await approval; 0 while no store exists (one is not created
    /// to answer).
    ///
    /// # Errors
    /// [`AccessError::Unavailable`] when the store cannot be read.
    pub async fn pending_count(&self) -> Result<u64, AccessError> {
        if self.store.get().is_none() && !self.settings.store.may_exist() {
            return Ok(0);
        }
        self.with_store(|s| s.pending_count(now_ms())).await
    }

    /// The live grants `principal` holds on `datasource`, for the plugins. Empty without a
    /// query while the store holds no grant at all.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`] when the store cannot be read.
    pub async fn live_grants(&self, principal: &str, datasource: &str) -> Result<Vec<Grant>, AccessError> {
        let now = now_ms();
        match self.store.get() {
            // The common case, answered without leaving the request's thread.
            Some(store) if store.known_empty(now) => return Ok(Vec::new()),
            // Before the store exists there is nothing to read, and reading must not create it.
            // Its absence is believed as long as "no grant" is, so that a Sluice whose plugins
            // never ask for approval does not look for the file on every statement.
            None if now.saturating_sub(self.absent_at_ms.load(Ordering::Acquire))
                < store::NO_GRANTS_FOR_MS =>
            {
                return Ok(Vec::new());
            }
            None if !self.settings.store.may_exist() => {
                self.absent_at_ms.store(now, Ordering::Release);
                return Ok(Vec::new());
            }
            _ => {}
        }
        let (principal, datasource) = (principal.to_owned(), datasource.to_owned());
        self.with_store(move |s| {
            let now = now_ms();
            if !s.may_hold_grants(now)? {
                return Ok(Vec::new());
            }
            s.live_grants(&principal, &datasource, now)
        })
        .await
    }

    /// Whether a live grant of `principal` covers `statement`; a covering one-time grant is
    /// consumed.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`] when the store cannot be reached.
    pub async fn cover(&self, principal: &str, statement: &StatementAsked) -> Result<Coverage, AccessError> {
        let (principal, statement) = (principal.to_owned(), statement.clone());
        self.with_store(move |s| s.cover(&principal, &statement, now_ms())).await
    }

    /// Files `new`, or returns the identical request still pending.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`] when the store cannot be reached.
    pub async fn ask(&self, new: NewRequest) -> Result<AccessRequest, AccessError> {
        let settings = self.settings.clone();
        self.with_store(move |s| s.ask(&new, &settings, now_ms())).await
    }

    /// The requests `viewer` may see, newest first (at most 500 of those `status` and `scope`
    /// select), filtered by `status` and by `scope`.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`] when the store cannot be reached.
    pub async fn requests(
        &self,
        viewer: &Principal,
        status: Option<RequestStatus>,
        scope: Scope,
    ) -> Result<Vec<AccessRequest>, AccessError> {
        let viewer = viewer.clone();
        self.with_store(move |s| {
            let listed = s.requests(status, scope, &viewer.id, now_ms())?;
            Ok(listed.into_iter().filter(|r| scope.includes(r, &viewer)).collect())
        })
        .await
    }

    /// Request `id`, if `viewer` may see it.
    ///
    /// # Errors
    /// [`AccessError::NotFound`] when it does not exist or `viewer` may not see it.
    pub async fn request(&self, viewer: &Principal, id: &str) -> Result<AccessRequest, AccessError> {
        let (viewer, id) = (viewer.clone(), id.to_owned());
        self.with_store(move |s| match s.request(&id, now_ms())? {
            Some(request) if may_see(&request, &viewer) => Ok(request),
            _ => Err(not_found_request(&id)),
        })
        .await
    }

    /// Records `reviewer`'s `decision` on request `id`; the request as it now stands.
    ///
    /// # Errors
    /// [`AccessError::NotFound`], [`AccessError::Forbidden`] (not an approver, their own
    /// request), [`AccessError::Conflict`] (already decided, expired, already reviewed).
    pub async fn review(
        &self,
        reviewer: &Principal,
        id: &str,
        decision: Decision,
        comment: Option<String>,
    ) -> Result<AccessRequest, AccessError> {
        let (reviewer, id, settings) = (reviewer.clone(), id.to_owned(), self.settings.clone());
        self.with_store(move |s| s.review(&reviewer, &id, decision, comment, &settings, now_ms())).await
    }

    /// The grants `viewer` holds or may revoke, newest first; `live_only` keeps the live ones.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`] when the store cannot be reached.
    pub async fn grants(&self, viewer: &Principal, live_only: bool) -> Result<Vec<Grant>, AccessError> {
        let viewer = viewer.clone();
        self.with_store(move |s| {
            let now = now_ms();
            let all = s.grants()?;
            Ok(all
                .into_iter()
                .filter(|g| review::may_see_grant(g, &viewer) && (!live_only || g.is_live(now)))
                .collect())
        })
        .await
    }

    /// Revokes grant `id` as `by`; the grant as it now stands.
    ///
    /// # Errors
    /// [`AccessError::NotFound`], [`AccessError::Conflict`] when it is already revoked or
    /// expired (a used one-time grant can be revoked: its statement may still run).
    pub async fn revoke(
        &self,
        by: &Principal,
        id: &str,
        reason: Option<String>,
    ) -> Result<Grant, AccessError> {
        let (by, id) = (by.clone(), id.to_owned());
        self.with_store(move |s| s.revoke(&by, &id, reason, now_ms())).await
    }
}

/// How often a statement running under a grant looks for the grant's revocation. The store
/// is asked, not this process's memory, so a revocation made through another Sluice sharing
/// the store stops it too.
const REVOCATION_POLL: Duration = Duration::from_millis(250);

impl Access {
    /// Fires `cancel` once grant `grant_id` is revoked, until the returned guard is dropped.
    /// Without an open store (it was just used to cover the statement, so it is) it watches
    /// nothing; a store that cannot be read is asked again at the next tick, and the grant's
    /// expiry bounds the statement regardless.
    pub fn watch(&self, grant_id: String, cancel: Cancel) -> Watch {
        let store = self.store.get().cloned();
        Watch(tokio::spawn(async move {
            let Some(store) = store else { return };
            let mut tick = tokio::time::interval(REVOCATION_POLL);
            loop {
                tick.tick().await;
                let (store, id) = (Arc::clone(&store), grant_id.clone());
                if let Ok(Ok(true)) = tokio::task::spawn_blocking(move || store.is_revoked(&id)).await {
                    tracing::info!(grant = grant_id.as_str(), "access grant revoked while its statement ran");
                    cancel.fire();
                    return;
                }
            }
        }))
    }
}

/// Stops watching a grant when dropped (see [`Access::watch`]).
#[derive(Debug)]
pub struct Watch(tokio::task::JoinHandle<()>);

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Which requests a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// The viewer's own requests and those they may review.
    #[default]
    All,
    /// The viewer's own requests.
    Mine,
    /// Pending requests the viewer may approve.
    ToReview,
}

impl Scope {
    fn includes(self, request: &AccessRequest, viewer: &Principal) -> bool {
        match self {
            Scope::All => may_see(request, viewer),
            Scope::Mine => request.principal == viewer.id,
            // Pending requests to approve, and break-glass uses awaiting their review.
            Scope::ToReview => review::check(request, viewer).is_ok(),
        }
    }
}

pub(crate) fn not_found_request(id: &str) -> AccessError {
    AccessError::NotFound(format!("no access request {id:?} that you may see"))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AccessError> + Send + 'static,
) -> Result<T, AccessError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AccessError::Unavailable(format!("the access store's worker failed: {e}")))?
}
