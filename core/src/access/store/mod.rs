//! The access store: requests, reviews, grants and the webhook outbox.
//!
//! Two databases can hold it, each one file here: an embedded SQLite file (the default, nothing
//! to set up) and PostgreSQL (for several Sluice processes sharing requests and grants). The
//! logic below is written once against `sql::Sql`, in SQL both read alike.
//!
//! Every change is one write transaction, and writers run one at a time across every process
//! sharing the store, so a one-time grant is consumed exactly once however many replays race
//! for it, wherever they arrive. The schema is versioned: `MIGRATIONS` lists every version's
//! statements, applied in order in one transaction at open, and a store written by a newer
//! Sluice is refused rather than misread. Pending requests expire lazily: reads report them
//! expired once their time has passed, and the next write records it.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use super::notify::{Due, Event, EventKind, Webhook, backoff_ms};
use super::review::{self, Decision};
use super::{
    AccessError, AccessRequest, AccessSettings, Coverage, Covered, Grant, GrantUses, Millis, NewRequest,
    RelationAsked, RequestStatus, Review, Revocation, Scope, StatementAsked, StoreLocation,
};
use crate::auth::Principal;

mod postgres;
pub(crate) mod sql;
mod sqlite;

use sql::{Backend, Sql, Value, values};

/// Each schema version's statements; version `n` is `MIGRATIONS[n - 1]`. Written in the SQL both
/// backends read (see [`sql`]); SQLite gives `BIGINT` the same integer affinity as the `INTEGER`
/// the first SQLite-only versions were written with, so their files read the same.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE access_requests (
    id               TEXT PRIMARY KEY,
    principal        TEXT NOT NULL,
    datasource       TEXT NOT NULL,
    kind             TEXT NOT NULL,
    statement        TEXT NOT NULL,
    params           TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    relations        TEXT NOT NULL,
    reasons          TEXT NOT NULL,
    plugins          TEXT NOT NULL,
    approver_groups  TEXT NOT NULL,
    min_approvals    BIGINT NOT NULL CHECK (min_approvals >= 1),
    justification    TEXT,
    uses             TEXT NOT NULL CHECK (uses IN ('once', 'window')),
    duration_seconds BIGINT NOT NULL CHECK (duration_seconds > 0),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    created_at_ms    BIGINT NOT NULL,
    expires_at_ms    BIGINT NOT NULL,
    decided_at_ms    BIGINT
);
CREATE INDEX access_requests_by_requester ON access_requests (principal, datasource, status);
CREATE TABLE access_reviews (
    request_id TEXT NOT NULL REFERENCES access_requests (id),
    reviewer   TEXT NOT NULL,
    decision   TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    comment    TEXT,
    at_ms      BIGINT NOT NULL,
    PRIMARY KEY (request_id, reviewer)
);
CREATE TABLE grants (
    id             TEXT PRIMARY KEY,
    request_id     TEXT NOT NULL UNIQUE REFERENCES access_requests (id),
    principal      TEXT NOT NULL,
    datasource     TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    uses           TEXT NOT NULL CHECK (uses IN ('once', 'window')),
    created_at_ms  BIGINT NOT NULL,
    -- A grant without an end cannot exist.
    expires_at_ms  BIGINT NOT NULL CHECK (expires_at_ms > created_at_ms),
    used_at_ms     BIGINT,
    revoked_at_ms  BIGINT,
    revoked_by     TEXT,
    revoke_reason  TEXT
);
CREATE INDEX grants_by_holder ON grants (principal, datasource, fingerprint);
"#,
    r#"
-- Break-glass: granted at once by the requester's own role, reviewed after the fact.
ALTER TABLE access_requests ADD COLUMN break_glass BIGINT NOT NULL DEFAULT 0 CHECK (break_glass IN (0, 1));
-- Role templates: a request and its grant name a template instead of a statement (whose
-- columns then hold the datasource and empty values).
ALTER TABLE access_requests ADD COLUMN template TEXT;
ALTER TABLE grants ADD COLUMN template TEXT;
"#,
    r#"
-- The outbox: each transition's event, written with it, and one delivery per webhook.
CREATE TABLE outbox (
    id    TEXT PRIMARY KEY,
    kind  TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    body  TEXT NOT NULL
);
CREATE TABLE outbox_deliveries (
    event_id        TEXT NOT NULL REFERENCES outbox (id),
    webhook         TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_at_ms      BIGINT NOT NULL,
    delivered_at_ms BIGINT,
    last_error      TEXT,
    PRIMARY KEY (event_id, webhook)
);
CREATE INDEX outbox_due ON outbox_deliveries (next_at_ms) WHERE delivered_at_ms IS NULL;
"#,
    r#"
-- N-of-M with one approval per group: the request says so, and each review records the
-- request's groups its reviewer held.
ALTER TABLE access_requests ADD COLUMN per_group BIGINT NOT NULL DEFAULT 0 CHECK (per_group IN (0, 1));
ALTER TABLE access_reviews ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';
"#,
    r#"
-- Relation requests: statements of some kinds (a JSON list) over one relation, for a window.
ALTER TABLE access_requests ADD COLUMN relation TEXT;
ALTER TABLE access_requests ADD COLUMN relation_statements TEXT;
"#,
];

/// Most requests a listing returns.
const LIST_LIMIT: i64 = 500;

/// How long "this store holds no grant" is believed without asking again. Another process
/// sharing the store may create one meanwhile; only what plugins see can lag by this much, since
/// [`Store::cover`] always asks.
pub(super) const NO_GRANTS_FOR_MS: Millis = 1000;

/// The store: its database, and what it remembers between calls. Every method blocks; the
/// [`super::Access`] facade calls them on blocking threads.
pub struct Store {
    backend: Box<dyn Backend>,
    /// True once a grant exists, so statements need no query while none does.
    any_grants: AtomicBool,
    /// When the store was last asked whether any grant exists.
    checked_at_ms: AtomicI64,
    /// Webhooks that get an outbox delivery for each transition they want.
    webhooks: Vec<Webhook>,
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> AccessError {
    AccessError::Unavailable(e.to_string())
}

fn json<T: serde::Serialize>(value: &T) -> String {
    // Serialising strings and JSON values cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, AccessError> {
    serde_json::from_str(text).map_err(|e| unavailable(format!("a stored value is malformed: {e}")))
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Store {
    /// Opens (creating if needed) and migrates the store at `location`. A PostgreSQL store must
    /// be opened with a Tokio runtime current, on a thread that may block.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`] when the store cannot be reached or migrated, or was written
    /// by a newer Sluice.
    pub fn open(location: &StoreLocation) -> Result<Store, AccessError> {
        let backend: Box<dyn Backend> = match location {
            StoreLocation::Sqlite(path) => Box::new(sqlite::Sqlite::open(path)?),
            StoreLocation::Postgres(url) => Box::new(postgres::Postgres::open(url)?),
        };
        let store = Store {
            backend,
            any_grants: AtomicBool::new(false),
            checked_at_ms: AtomicI64::new(Millis::MIN),
            webhooks: Vec::new(),
        };
        store.migrate()?;
        store.may_hold_grants(super::now_ms())?;
        Ok(store)
    }

    /// The store, writing an outbox delivery for `webhooks` with each transition they want.
    pub fn with_webhooks(mut self, webhooks: Vec<Webhook>) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// Runs `f` in one write transaction: committed when `f` succeeds, rolled back when it
    /// fails, and never interleaved with another writer of the store.
    fn write<T>(&self, f: impl FnOnce(&mut dyn Sql) -> Result<T, AccessError>) -> Result<T, AccessError> {
        self.run(true, f)
    }

    /// Runs `f` in one read-only transaction, so that what it reads is one consistent state.
    fn read<T>(&self, f: impl FnOnce(&mut dyn Sql) -> Result<T, AccessError>) -> Result<T, AccessError> {
        self.run(false, f)
    }

    fn run<T>(
        &self,
        write: bool,
        f: impl FnOnce(&mut dyn Sql) -> Result<T, AccessError>,
    ) -> Result<T, AccessError> {
        // The backend takes a `FnMut` to stay object-safe; it calls it once.
        let (mut f, mut out) = (Some(f), None);
        self.backend.transaction(write, &mut |sql| {
            if let Some(f) = f.take() {
                out = Some(f(sql)?);
            }
            Ok(())
        })?;
        out.ok_or_else(|| unavailable("the store did not run a transaction"))
    }

    fn migrate(&self) -> Result<(), AccessError> {
        self.write(|sql| {
            let version = self.backend.schema_version(sql)?;
            if version > MIGRATIONS.len() {
                return Err(unavailable(format!(
                    "the store is at schema version {version}, newer than this Sluice knows ({})",
                    MIGRATIONS.len()
                )));
            }
            for (index, migration) in MIGRATIONS.iter().enumerate().skip(version) {
                sql.batch(migration).map_err(|e| unavailable(format!("migration {}: {e}", index + 1)))?;
                self.backend.set_schema_version(sql, index + 1)?;
            }
            Ok(())
        })
    }

    /// Writes `event` to the outbox, with a delivery for each webhook that wants it, inside the
    /// caller's transaction. Nothing when no webhook wants it.
    fn emit(&self, sql: &mut dyn Sql, event: Event) -> Result<(), AccessError> {
        let wanted: Vec<&Webhook> = self.webhooks.iter().filter(|w| w.wants(event.kind)).collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let summary = event.summary();
        let mut body = serde_json::to_value(&event).map_err(unavailable)?;
        if let Some(object) = body.as_object_mut() {
            object.insert("summary".into(), summary.into());
        }
        sql.execute(
            "INSERT INTO outbox (id, kind, at_ms, body) VALUES (?1, ?2, ?3, ?4)",
            &values![event.id, event.kind.name(), event.at_ms, body.to_string()],
        )?;
        for webhook in wanted {
            sql.execute(
                "INSERT INTO outbox_deliveries (event_id, webhook, next_at_ms) VALUES (?1, ?2, ?3)",
                &values![event.id, webhook.name, event.at_ms],
            )?;
        }
        Ok(())
    }

    /// Deliveries due at `now`, oldest event first, at most `limit`. Each must still be
    /// [claimed](Self::claim_delivery) before it is sent.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn due_deliveries(&self, now: Millis, limit: usize) -> Result<Vec<Due>, AccessError> {
        let rows = self.read(|sql| {
            sql.query(
                "SELECT d.event_id, d.webhook, o.body, d.attempts, o.at_ms FROM outbox_deliveries d \
                 JOIN outbox o ON o.id = d.event_id WHERE d.delivered_at_ms IS NULL AND d.next_at_ms <= ?1 \
                 ORDER BY o.at_ms, o.id LIMIT ?2",
                &values![now, i64::try_from(limit).unwrap_or(i64::MAX)],
            )
        })?;
        rows.iter()
            .map(|r| {
                Ok(Due {
                    event_id: r.get(0)?,
                    webhook: r.get(1)?,
                    body: r.get(2)?,
                    attempts: r.get(3)?,
                    at_ms: r.get(4)?,
                })
            })
            .collect()
    }

    /// Claims `due` for one attempt until `until`: false when another process sharing the store
    /// claimed or delivered it first. A claim whose process dies lapses at `until`, so the event
    /// is sent again rather than lost.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn claim_delivery(&self, due: &Due, now: Millis, until: Millis) -> Result<bool, AccessError> {
        let claimed = self.write(|sql| {
            sql.execute(
                "UPDATE outbox_deliveries SET next_at_ms = ?3 WHERE event_id = ?1 AND webhook = ?2 \
                 AND delivered_at_ms IS NULL AND next_at_ms <= ?4",
                &values![due.event_id, due.webhook, until, now],
            )
        })?;
        Ok(claimed == 1)
    }

    /// Records an attempt of `due`: delivered, or failed with `error` and due again later.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn mark_delivery(&self, due: &Due, error: Option<String>, now: Millis) -> Result<(), AccessError> {
        self.write(|sql| match error {
            None => sql.execute(
                "UPDATE outbox_deliveries SET attempts = attempts + 1, delivered_at_ms = ?3, last_error = NULL \
                 WHERE event_id = ?1 AND webhook = ?2",
                &values![due.event_id, due.webhook, now],
            ),
            Some(error) => sql.execute(
                "UPDATE outbox_deliveries SET attempts = attempts + 1, next_at_ms = ?3, last_error = ?4 \
                 WHERE event_id = ?1 AND webhook = ?2",
                &values![due.event_id, due.webhook, now.saturating_add(backoff_ms(due.attempts)), error],
            ),
        })?;
        Ok(())
    }

    /// Records the expiry of every pending request whose time has passed, with its event.
    fn expire(&self, sql: &mut dyn Sql, now: Millis) -> Result<(), AccessError> {
        let rows = sql.query(
            "SELECT id FROM access_requests WHERE status = 'pending' AND expires_at_ms <= ?1",
            &values![now],
        )?;
        for row in rows {
            let id: String = row.get(0)?;
            sql.execute(
                "UPDATE access_requests SET status = 'expired', decided_at_ms = expires_at_ms WHERE id = ?1",
                &values![id],
            )?;
            let mut event = Event::new(EventKind::Expired, now, None);
            event.request = load_request(sql, &id, now)?;
            self.emit(sql, event)?;
        }
        Ok(())
    }

    /// True when this store held no grant at all a moment ago; never blocks.
    pub fn known_empty(&self, now: Millis) -> bool {
        !self.any_grants.load(Ordering::Acquire)
            && now.saturating_sub(self.checked_at_ms.load(Ordering::Acquire)) < NO_GRANTS_FOR_MS
    }

    /// False when this store held no grant at all a moment ago (see `NO_GRANTS_FOR_MS`).
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn may_hold_grants(&self, now: Millis) -> Result<bool, AccessError> {
        if self.any_grants.load(Ordering::Acquire) {
            return Ok(true);
        }
        if now.saturating_sub(self.checked_at_ms.load(Ordering::Acquire)) < NO_GRANTS_FOR_MS {
            return Ok(false);
        }
        let any: bool = self.read(|sql| {
            sql.query_one("SELECT count(*) FROM (SELECT 1 FROM grants LIMIT 1) AS any_grant", &[])?.get(0)
        })?;
        self.any_grants.fetch_or(any, Ordering::AcqRel);
        self.checked_at_ms.store(now, Ordering::Release);
        Ok(any)
    }

    /// Live grants of `principal` on `datasource` at `now`.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn live_grants(
        &self,
        principal: &str,
        datasource: &str,
        now: Millis,
    ) -> Result<Vec<Grant>, AccessError> {
        self.read(|sql| {
            select_grants(
                sql,
                "WHERE g.principal = ?1 AND g.datasource = ?2 AND g.expires_at_ms > ?3 \
                 AND g.revoked_at_ms IS NULL AND g.used_at_ms IS NULL",
                &values![principal, datasource, now],
            )
        })
    }

    /// Whether a live grant covers `statement` for `principal`; consumes a covering one-time
    /// grant in the same transaction.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn cover(
        &self,
        principal: &str,
        statement: &StatementAsked,
        now: Millis,
    ) -> Result<Coverage, AccessError> {
        self.write(|sql| {
            let candidates = select_grants(
                sql,
                "WHERE g.principal = ?1 AND g.datasource = ?2 AND g.fingerprint = ?3 \
                 AND g.expires_at_ms > ?4 AND g.revoked_at_ms IS NULL AND g.template IS NULL \
                 AND r.relation IS NULL",
                &values![principal, statement.datasource, statement.fingerprint, now],
            )?;
            // A window grant first: using it leaves a one-time grant for later.
            let window = candidates.iter().find(|g| g.uses == GrantUses::Window);
            let exact = |g: &&Grant| {
                g.uses == GrantUses::Once
                    && g.statement
                        .as_ref()
                        .is_some_and(|s| s.text == statement.text && s.params == statement.params)
            };
            let used_event = |sql: &mut dyn Sql, grant: &Grant| {
                let mut event = Event::new(EventKind::Used, now, Some(principal));
                event.grant = Some(grant.clone());
                self.emit(sql, event)
            };
            let coverage = if let Some(grant) = window {
                used_event(sql, grant)?;
                Coverage::Covered(Covered { grant_id: grant.id.clone(), expires_at_ms: grant.expires_at_ms })
            } else if let Some(grant) = candidates.iter().filter(exact).find(|g| g.used_at_ms.is_none()) {
                // Writers run one at a time, so the grant read unused above is still unused.
                let used = sql.execute(
                    "UPDATE grants SET used_at_ms = ?2 WHERE id = ?1 AND used_at_ms IS NULL",
                    &values![grant.id, now],
                )?;
                if used != 1 {
                    return Err(unavailable("a one-time grant changed inside its transaction"));
                }
                used_event(sql, grant)?;
                Coverage::Covered(Covered { grant_id: grant.id.clone(), expires_at_ms: grant.expires_at_ms })
            } else if let Some(grant) = candidates.iter().find(exact) {
                Coverage::Used { grant_id: grant.id.clone() }
            } else {
                Coverage::None
            };
            Ok(coverage)
        })
    }

    /// Files `new`, or returns the identical request still pending.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`]; [`AccessError::Conflict`] when the requester already has
    /// the most pending requests allowed.
    pub fn ask(
        &self,
        new: &NewRequest,
        settings: &AccessSettings,
        now: Millis,
    ) -> Result<AccessRequest, AccessError> {
        self.write(|sql| {
            self.expire(sql, now)?;
            let s = &new.statement;
            // Break-glass is never folded into another request: each use is its own record.
            let existing: Option<String> = match new.break_glass {
                true => None,
                false => sql
                    .query_opt(
                        "SELECT id FROM access_requests WHERE principal = ?1 AND datasource = ?2 \
                         AND statement = ?3 AND params = ?4 AND uses = ?5 \
                         AND (template = ?6 OR (template IS NULL AND ?6 IS NULL)) \
                         AND (relation = ?7 OR (relation IS NULL AND ?7 IS NULL)) \
                         AND (relation_statements = ?8 OR (relation_statements IS NULL AND ?8 IS NULL)) \
                         AND status = 'pending' AND break_glass = 0 ORDER BY created_at_ms DESC LIMIT 1",
                        &values![
                            new.principal,
                            s.datasource,
                            s.text,
                            json(&s.params),
                            new.uses.name(),
                            new.template,
                            new.relation.as_ref().map(|r| r.relation.as_str()),
                            new.relation.as_ref().map(|r| json(&r.statements)),
                        ],
                    )?
                    .map(|r| r.get(0))
                    .transpose()?,
            };
            let id = match existing {
                Some(id) => id,
                None => self.file(sql, new, settings, now)?,
            };
            load_request(sql, &id, now)?.ok_or_else(|| unavailable("a request vanished"))
        })
    }

    /// Files `new` as a request of its own (and its grant, for break-glass); its id.
    fn file(
        &self,
        sql: &mut dyn Sql,
        new: &NewRequest,
        settings: &AccessSettings,
        now: Millis,
    ) -> Result<String, AccessError> {
        if !new.break_glass {
            let pending: i64 = sql
                .query_one(
                    "SELECT count(*) FROM access_requests WHERE principal = ?1 AND status = 'pending'",
                    &values![new.principal],
                )?
                .get(0)?;
            if pending >= i64::from(settings.max_pending_per_principal) {
                return Err(AccessError::Conflict(format!(
                    "you have {pending} pending access requests, the most allowed; wait until some are \
                     decided or expire"
                )));
            }
        }
        let s = &new.statement;
        let id = new_id();
        let groups = if new.approver_groups.is_empty() {
            settings.approvers.clone()
        } else {
            new.approver_groups.clone()
        };
        let cap = match new.break_glass {
            true => settings.break_glass_max.min(settings.max_grant),
            false => settings.max_grant,
        };
        let cap = new.max_seconds.map_or(cap, |max| cap.min(std::time::Duration::from_secs(max)));
        let wanted =
            new.requested_seconds.or(new.suggested_seconds).unwrap_or(settings.default_grant.as_secs());
        let duration = wanted.clamp(1, cap.as_secs().max(1));
        let (status, expires) = match new.break_glass {
            true => (RequestStatus::Approved, now),
            false => (RequestStatus::Pending, now.saturating_add(millis(settings.pending_ttl))),
        };
        sql.execute(
            "INSERT INTO access_requests (id, principal, datasource, kind, statement, params, fingerprint, \
             relations, reasons, plugins, approver_groups, min_approvals, justification, uses, \
             duration_seconds, status, created_at_ms, expires_at_ms, break_glass, decided_at_ms, template, \
             per_group, relation, relation_statements) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, \
             ?22, ?23, ?24)",
            &values![
                id,
                new.principal,
                s.datasource,
                s.kind,
                s.text,
                json(&s.params),
                s.fingerprint,
                json(&s.relations),
                json(&new.reasons),
                json(&new.plugins),
                json(&groups),
                new.min_approvals.unwrap_or(settings.min_approvals),
                new.justification,
                new.uses.name(),
                duration,
                status.name(),
                now,
                expires,
                new.break_glass,
                new.break_glass.then_some(now),
                new.template,
                new.per_group.unwrap_or(settings.approval_per_group),
                new.relation.as_ref().map(|r| r.relation.as_str()),
                new.relation.as_ref().map(|r| json(&r.statements)),
            ],
        )?;
        if new.break_glass {
            insert_grant(sql, &id, new, duration, now)?;
            self.any_grants.store(true, Ordering::Release);
        }
        let kind = if new.break_glass { EventKind::BreakGlass } else { EventKind::Created };
        let mut event = Event::new(kind, now, Some(&new.principal));
        event.request = load_request(sql, &id, now)?;
        self.emit(sql, event)?;
        Ok(id)
    }

    /// Every request with `status` (any when `None`), newest first, at most `LIST_LIMIT` (500).
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn requests(
        &self,
        status: Option<RequestStatus>,
        scope: Scope,
        viewer: &str,
        now: Millis,
    ) -> Result<Vec<AccessRequest>, AccessError> {
        // Narrowed here so that the limit applies to what the listing can show; who may see
        // each request (its groups) is decided by the caller.
        let status_condition = match status {
            None => "1 = 1",
            Some(RequestStatus::Pending) => "status = 'pending' AND expires_at_ms > ?2",
            Some(RequestStatus::Expired) => {
                "(status = 'expired' OR (status = 'pending' AND expires_at_ms <= ?2))"
            }
            Some(RequestStatus::Approved) => "status = 'approved'",
            Some(RequestStatus::Rejected) => "status = 'rejected'",
        };
        let scope_condition = match scope {
            Scope::All => "1 = 1",
            Scope::Mine => "principal = ?3",
            Scope::ToReview => {
                "principal <> ?3 AND ((status = 'pending' AND expires_at_ms > ?2) OR (break_glass = 1 \
                 AND status = 'approved' AND NOT EXISTS (SELECT 1 FROM access_reviews v WHERE v.request_id = id)))"
            }
        };
        // Every variant binds the same three parameters, so each names all three: SQLite counts
        // a statement's parameters by the highest number it names, PostgreSQL must type each.
        let text = format!(
            "SELECT id FROM access_requests WHERE CAST(?2 AS BIGINT) IS NOT NULL AND CAST(?3 AS TEXT) IS NOT NULL \
             AND ({status_condition}) AND ({scope_condition}) ORDER BY created_at_ms DESC, id LIMIT ?1"
        );
        self.read(|sql| {
            let ids = sql.query(&text, &values![LIST_LIMIT, now, viewer])?;
            let mut out = Vec::new();
            for row in ids {
                let id: String = row.get(0)?;
                if let Some(request) = load_request(sql, &id, now)?
                    && status.is_none_or(|s| s == request.status)
                {
                    out.push(request);
                }
            }
            Ok(out)
        })
    }

    /// How many requests are pending at `now`.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn pending_count(&self, now: Millis) -> Result<u64, AccessError> {
        let count: i64 = self.read(|sql| {
            sql.query_one(
                "SELECT count(*) FROM access_requests WHERE status = 'pending' AND expires_at_ms > ?1",
                &values![now],
            )?
            .get(0)
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Request `id`.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn request(&self, id: &str, now: Millis) -> Result<Option<AccessRequest>, AccessError> {
        self.read(|sql| load_request(sql, id, now))
    }

    /// Records a review; creates the grant when it is the last approval needed.
    ///
    /// # Errors
    /// See [`super::Access::review`].
    pub fn review(
        &self,
        reviewer: &Principal,
        id: &str,
        decision: Decision,
        comment: Option<String>,
        settings: &AccessSettings,
        now: Millis,
    ) -> Result<AccessRequest, AccessError> {
        self.write(|sql| {
            self.expire(sql, now)?;
            let request = load_request(sql, id, now)?.ok_or_else(|| super::not_found_request(id))?;
            review::check(&request, reviewer)?;
            let groups: Vec<&String> =
                request.approver_groups.iter().filter(|g| reviewer.roles.contains(g)).collect();
            sql.execute(
                "INSERT INTO access_reviews (request_id, reviewer, decision, comment, at_ms, groups) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &values![id, reviewer.id, decision.name(), comment, now, json(&groups)],
            )?;
            let approvals = request.approvals() + usize::from(decision == Decision::Approve);
            // With one approval per group, every group must be among the approvers' groups too.
            let groups_met = !request.per_group
                || request.approver_groups.iter().all(|group| {
                    groups.contains(&group) && decision == Decision::Approve
                        || request
                            .reviews
                            .iter()
                            .any(|r| r.decision == Decision::Approve && r.groups.contains(group))
                });
            let mut granted = false;
            if request.break_glass {
                // After the fact: approving records that someone else looked; rejecting also ends
                // the grant at once if it is still live.
                if decision == Decision::Reject {
                    set_status(sql, id, RequestStatus::Rejected, now)?;
                    sql.execute(
                        "UPDATE grants SET revoked_at_ms = ?2, revoked_by = ?3, revoke_reason = ?4 \
                         WHERE request_id = ?1 AND revoked_at_ms IS NULL AND expires_at_ms > ?2",
                        &values![
                            id,
                            now,
                            reviewer.id,
                            comment.as_deref().unwrap_or("break-glass use rejected on review")
                        ],
                    )?;
                }
            } else if decision == Decision::Reject {
                set_status(sql, id, RequestStatus::Rejected, now)?;
            } else if approvals >= usize::try_from(request.min_approvals).unwrap_or(usize::MAX) && groups_met
            {
                set_status(sql, id, RequestStatus::Approved, now)?;
                // The cap applies again now: the maximum may have been lowered since the request.
                let seconds = request.duration_seconds.min(settings.max_grant.as_secs()).max(1);
                let fingerprint = request.statement.as_ref().map_or("", |s| s.fingerprint.as_str());
                sql.execute(
                    "INSERT INTO grants (id, request_id, principal, datasource, fingerprint, uses, created_at_ms, \
                     expires_at_ms, template) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    &values![
                        new_id(),
                        id,
                        request.principal,
                        request.datasource,
                        fingerprint,
                        request.uses.name(),
                        now,
                        now.saturating_add(seconds_ms(seconds)),
                        request.template
                    ],
                )?;
                granted = true;
            }
            let request = load_request(sql, id, now)?.ok_or_else(|| super::not_found_request(id))?;
            let kind = match (decision, request.status) {
                (Decision::Reject, _) => Some(EventKind::Rejected),
                (Decision::Approve, RequestStatus::Approved) => Some(EventKind::Approved),
                (Decision::Approve, _) => None,
            };
            if let Some(kind) = kind {
                let mut event = Event::new(kind, now, Some(&reviewer.id));
                event.request = Some(request.clone());
                self.emit(sql, event)?;
            }
            if granted {
                self.any_grants.store(true, Ordering::Release);
            }
            Ok(request)
        })
    }

    /// Whether grant `id` has been revoked (or no longer exists).
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn is_revoked(&self, id: &str) -> Result<bool, AccessError> {
        let row =
            self.read(|sql| sql.query_opt("SELECT revoked_at_ms FROM grants WHERE id = ?1", &values![id]))?;
        match row {
            Some(row) => Ok(row.get::<Option<Millis>>(0)?.is_some()),
            None => Ok(true),
        }
    }

    /// Every grant, newest first, at most `LIST_LIMIT` (500).
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn grants(&self) -> Result<Vec<Grant>, AccessError> {
        self.read(|sql| {
            select_grants(sql, "ORDER BY g.created_at_ms DESC, g.id LIMIT ?1", &values![LIST_LIMIT])
        })
    }

    /// Revokes grant `id` as `by`, who must hold it or be one of its approver groups.
    ///
    /// # Errors
    /// [`AccessError::NotFound`] for a grant `by` may not see; [`AccessError::Conflict`] for
    /// one already revoked or expired.
    pub fn revoke(
        &self,
        by: &Principal,
        id: &str,
        reason: Option<String>,
        now: Millis,
    ) -> Result<Grant, AccessError> {
        self.write(|sql| {
            let not_found = || AccessError::NotFound(format!("no grant {id:?} that you may see"));
            let grant = select_grants(sql, "WHERE g.id = ?1", &values![id])?
                .into_iter()
                .next()
                .ok_or_else(not_found)?;
            if !review::may_see_grant(&grant, by) {
                return Err(not_found());
            }
            // A used one-time grant can still be revoked until it expires: its statement may be
            // running, and revoking stops it.
            if grant.revoked.is_some() || now >= grant.expires_at_ms {
                return Err(AccessError::Conflict("the grant is already revoked or expired".into()));
            }
            sql.execute(
                "UPDATE grants SET revoked_at_ms = ?2, revoked_by = ?3, revoke_reason = ?4 WHERE id = ?1",
                &values![id, now, by.id, reason],
            )?;
            let grant = select_grants(sql, "WHERE g.id = ?1", &values![id])?
                .into_iter()
                .next()
                .ok_or_else(not_found)?;
            let mut event = Event::new(EventKind::Revoked, now, Some(&by.id));
            event.grant = Some(grant.clone());
            self.emit(sql, event)?;
            Ok(grant)
        })
    }
}

fn seconds_ms(seconds: u64) -> Millis {
    Millis::try_from(seconds).unwrap_or(Millis::MAX).saturating_mul(1000)
}

/// The grant of a break-glass request, created with it.
fn insert_grant(
    sql: &mut dyn Sql,
    id: &str,
    new: &NewRequest,
    seconds: u64,
    now: Millis,
) -> Result<(), AccessError> {
    let s = &new.statement;
    sql.execute(
        "INSERT INTO grants (id, request_id, principal, datasource, fingerprint, uses, created_at_ms, expires_at_ms, \
         template) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &values![
            new_id(),
            id,
            new.principal,
            s.datasource,
            s.fingerprint,
            new.uses.name(),
            now,
            now.saturating_add(seconds_ms(seconds)),
            new.template
        ],
    )?;
    Ok(())
}

fn millis(d: std::time::Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

fn set_status(sql: &mut dyn Sql, id: &str, status: RequestStatus, now: Millis) -> Result<(), AccessError> {
    sql.execute(
        "UPDATE access_requests SET status = ?2, decided_at_ms = ?3 WHERE id = ?1",
        &values![id, status.name(), now],
    )?;
    Ok(())
}

fn load_request(sql: &mut dyn Sql, id: &str, now: Millis) -> Result<Option<AccessRequest>, AccessError> {
    let Some(r) = sql.query_opt(
        "SELECT r.principal, r.datasource, r.kind, r.statement, r.params, r.fingerprint, r.relations, \
         r.reasons, r.plugins, r.approver_groups, r.min_approvals, r.justification, r.uses, \
         r.duration_seconds, r.status, r.created_at_ms, r.expires_at_ms, g.id, r.break_glass, r.template, \
         r.per_group, r.relation, r.relation_statements \
         FROM access_requests r LEFT JOIN grants g ON g.request_id = r.id WHERE r.id = ?1",
        &values![id],
    )?
    else {
        return Ok(None);
    };
    let datasource: String = r.get(1)?;
    let template: Option<String> = r.get(19)?;
    let status = RequestStatus::parse(&r.get::<String>(14)?)
        .ok_or_else(|| unavailable("a stored status is unknown"))?;
    let expires_at_ms = r.get(16)?;
    let relation = relation_asked(r.get(21)?, r.get(22)?)?;
    let statement = match (&template, &relation) {
        (Some(_), _) | (_, Some(_)) => None,
        (None, None) => Some(StatementAsked {
            datasource: datasource.clone(),
            kind: r.get(2)?,
            text: r.get(3)?,
            params: from_json(&r.get::<String>(4)?)?,
            fingerprint: r.get(5)?,
            relations: from_json(&r.get::<String>(6)?)?,
        }),
    };
    Ok(Some(AccessRequest {
        id: id.to_owned(),
        principal: r.get(0)?,
        datasource,
        statement,
        template,
        relation,
        reasons: from_json(&r.get::<String>(7)?)?,
        plugins: from_json(&r.get::<String>(8)?)?,
        approver_groups: from_json(&r.get::<String>(9)?)?,
        min_approvals: r.get(10)?,
        justification: r.get(11)?,
        uses: GrantUses::parse(&r.get::<String>(12)?)
            .ok_or_else(|| unavailable("a stored grant use is unknown"))?,
        duration_seconds: u64::try_from(r.get::<i64>(13)?).unwrap_or(0),
        status: review::settle(status, expires_at_ms, now),
        created_at_ms: r.get(15)?,
        expires_at_ms,
        reviews: load_reviews(sql, id)?,
        grant_id: r.get(17)?,
        break_glass: r.get(18)?,
        per_group: r.get(20)?,
    }))
}

/// A request's relation, from its two columns.
fn relation_asked(
    relation: Option<String>,
    statements: Option<String>,
) -> Result<Option<RelationAsked>, AccessError> {
    match (relation, statements) {
        (Some(relation), Some(statements)) => {
            Ok(Some(RelationAsked { relation, statements: from_json(&statements)? }))
        }
        (None, None) => Ok(None),
        _ => Err(unavailable("a stored relation request is incomplete")),
    }
}

fn load_reviews(sql: &mut dyn Sql, id: &str) -> Result<Vec<Review>, AccessError> {
    let rows = sql.query(
        "SELECT reviewer, decision, comment, at_ms, groups FROM access_reviews WHERE request_id = ?1 \
         ORDER BY at_ms, reviewer",
        &values![id],
    )?;
    rows.iter()
        .map(|r| {
            let decision = Decision::parse(&r.get::<String>(1)?)
                .ok_or_else(|| unavailable("a stored decision is unknown"))?;
            Ok(Review {
                reviewer: r.get(0)?,
                decision,
                comment: r.get(2)?,
                at_ms: r.get(3)?,
                groups: from_json(&r.get::<String>(4)?)?,
            })
        })
        .collect()
}

/// Grants matching `filter` (a `WHERE` and/or `ORDER BY` over `grants g`), with their requests'
/// statements, approver groups and approvers.
fn select_grants(sql: &mut dyn Sql, filter: &str, params: &[Value]) -> Result<Vec<Grant>, AccessError> {
    let text = format!(
        "SELECT g.id, g.request_id, g.principal, g.uses, g.created_at_ms, g.expires_at_ms, g.used_at_ms, \
         g.revoked_at_ms, g.revoked_by, g.revoke_reason, r.datasource, r.kind, r.statement, r.params, \
         r.fingerprint, r.relations, r.approver_groups, g.template, r.relation, r.relation_statements \
         FROM grants g JOIN access_requests r ON r.id = g.request_id {filter}"
    );
    let rows = sql.query(&text, params)?;
    rows.iter()
        .map(|r| {
            let request_id: String = r.get(1)?;
            let datasource: String = r.get(10)?;
            let template: Option<String> = r.get(17)?;
            let relation = relation_asked(r.get(18)?, r.get(19)?)?;
            let approved_by = load_reviews(sql, &request_id)?
                .into_iter()
                .filter(|review| review.decision == Decision::Approve)
                .map(|review| review.reviewer)
                .collect();
            let revoked = match r.get::<Option<Millis>>(7)? {
                Some(at_ms) => Some(Revocation {
                    by: r.get::<Option<String>>(8)?.unwrap_or_default(),
                    reason: r.get(9)?,
                    at_ms,
                }),
                None => None,
            };
            Ok(Grant {
                id: r.get(0)?,
                request_id,
                principal: r.get(2)?,
                statement: match (&template, &relation) {
                    (Some(_), _) | (_, Some(_)) => None,
                    (None, None) => Some(StatementAsked {
                        datasource: datasource.clone(),
                        kind: r.get(11)?,
                        text: r.get(12)?,
                        params: from_json(&r.get::<String>(13)?)?,
                        fingerprint: r.get(14)?,
                        relations: from_json(&r.get::<String>(15)?)?,
                    }),
                },
                datasource,
                template,
                relation,
                uses: GrantUses::parse(&r.get::<String>(3)?)
                    .ok_or_else(|| unavailable("a stored grant use is unknown"))?,
                approved_by,
                approver_groups: from_json(&r.get::<String>(16)?)?,
                created_at_ms: r.get(4)?,
                expires_at_ms: r.get(5)?,
                used_at_ms: r.get(6)?,
                revoked,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn sqlite(path: &std::path::Path) -> StoreLocation {
        StoreLocation::Sqlite(path.to_owned())
    }

    fn temp_path(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("sluice-access-{name}-{}.db", new_id()))
    }

    #[test]
    fn an_older_store_is_migrated_in_place_and_keeps_its_rows() {
        let path = temp_path("v1");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch("PRAGMA user_version = 1").unwrap();
            conn.execute(
                "INSERT INTO access_requests (id, principal, datasource, kind, statement, params, fingerprint, \
                 relations, reasons, plugins, approver_groups, min_approvals, uses, duration_seconds, status, \
                 created_at_ms, expires_at_ms) \
                 VALUES ('r1', 'alice', 'app', 'delete', 'DELETE FROM t', '[]', 'f', '[]', '[]', '[]', '[\"dba\"]', \
                 1, 'once', 60, 'pending', 0, 9999999999999)",
                [],
            )
            .unwrap();
        }
        let store = Store::open(&sqlite(&path)).unwrap();
        let request = store.request("r1", 1).unwrap().unwrap();
        assert_eq!(request.principal, "alice");
        assert!(!request.break_glass, "the new column's default applies to old rows");
        let version = store.read(|sql| store.backend.schema_version(sql)).unwrap();
        assert_eq!(version, MIGRATIONS.len());
        drop(store);
        // Opening again changes nothing.
        assert!(Store::open(&sqlite(&path)).unwrap().request("r1", 1).unwrap().is_some());
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn a_store_from_a_newer_sluice_is_refused() {
        let path = temp_path("future");
        Connection::open(&path).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();
        let error = Store::open(&sqlite(&path)).err().unwrap();
        assert!(matches!(&error, AccessError::Unavailable(m) if m.contains("newer")), "{error:?}");
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn a_grant_without_an_end_cannot_be_stored() {
        let path = temp_path("check");
        let store = Store::open(&sqlite(&path)).unwrap();
        let forever = store.write(|sql| {
            sql.batch(
                "INSERT INTO access_requests (id, principal, datasource, kind, statement, params, fingerprint, \
                 relations, reasons, plugins, approver_groups, min_approvals, uses, duration_seconds, status, \
                 created_at_ms, expires_at_ms) VALUES ('r', 'a', 'app', 'read', 's', '[]', 'f', '[]', '[]', '[]', \
                 '[]', 1, 'once', 1, 'approved', 0, 1)",
            )?;
            sql.execute(
                "INSERT INTO grants (id, request_id, principal, datasource, fingerprint, uses, created_at_ms, \
                 expires_at_ms) VALUES ('g', 'r', 'a', 'app', 'f', 'once', 10, 10)",
                &[],
            )
        });
        assert!(forever.is_err(), "expiry must come after creation");
        assert!(store.request("r", 1).unwrap().is_none(), "the failed transaction left nothing");
        std::fs::remove_file(&path).ok();
    }
}
