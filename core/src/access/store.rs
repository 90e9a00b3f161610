//! The access store: requests, reviews and grants in an embedded SQLite file.
//!
//! Every change is one `BEGIN IMMEDIATE` transaction, so two writers never interleave and a
//! one-time grant is consumed exactly once however many replays race for it. The schema is
//! versioned with `PRAGMA user_version`; `MIGRATIONS` lists every version's statements, applied
//! in order in one transaction at open, and a file written by a newer Sluice is refused rather
//! than misread. Pending requests expire lazily: reads report them expired once their time has
//! passed, and the next write records it.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};

use super::notify::{Due, Event, EventKind, Webhook, backoff_ms};
use super::review::{self, Decision};
use super::{
    AccessError, AccessRequest, AccessSettings, Coverage, Covered, Grant, GrantUses, Millis, NewRequest,
    RequestStatus, Review, Revocation, Scope, StatementAsked,
};
use crate::auth::Principal;

/// Each schema version's statements; version `n` is `MIGRATIONS[n - 1]`.
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
    min_approvals    INTEGER NOT NULL CHECK (min_approvals >= 1),
    justification    TEXT,
    uses             TEXT NOT NULL CHECK (uses IN ('once', 'window')),
    duration_seconds INTEGER NOT NULL CHECK (duration_seconds > 0),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    created_at_ms    INTEGER NOT NULL,
    expires_at_ms    INTEGER NOT NULL,
    decided_at_ms    INTEGER
);
CREATE INDEX access_requests_by_requester ON access_requests (principal, datasource, status);
CREATE TABLE access_reviews (
    request_id TEXT NOT NULL REFERENCES access_requests (id),
    reviewer   TEXT NOT NULL,
    decision   TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    comment    TEXT,
    at_ms      INTEGER NOT NULL,
    PRIMARY KEY (request_id, reviewer)
);
CREATE TABLE grants (
    id             TEXT PRIMARY KEY,
    request_id     TEXT NOT NULL UNIQUE REFERENCES access_requests (id),
    principal      TEXT NOT NULL,
    datasource     TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    uses           TEXT NOT NULL CHECK (uses IN ('once', 'window')),
    created_at_ms  INTEGER NOT NULL,
    -- A grant without an end cannot exist.
    expires_at_ms  INTEGER NOT NULL CHECK (expires_at_ms > created_at_ms),
    used_at_ms     INTEGER,
    revoked_at_ms  INTEGER,
    revoked_by     TEXT,
    revoke_reason  TEXT
);
CREATE INDEX grants_by_holder ON grants (principal, datasource, fingerprint);
"#,
    r#"
-- Break-glass: granted at once by the requester's own role, reviewed after the fact.
ALTER TABLE access_requests ADD COLUMN break_glass INTEGER NOT NULL DEFAULT 0 CHECK (break_glass IN (0, 1));
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
    at_ms INTEGER NOT NULL,
    body  TEXT NOT NULL
);
CREATE TABLE outbox_deliveries (
    event_id        TEXT NOT NULL REFERENCES outbox (id),
    webhook         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at_ms      INTEGER NOT NULL,
    delivered_at_ms INTEGER,
    last_error      TEXT,
    PRIMARY KEY (event_id, webhook)
);
CREATE INDEX outbox_due ON outbox_deliveries (next_at_ms) WHERE delivered_at_ms IS NULL;
"#,
    r#"
-- N-of-M with one approval per group: the request says so, and each review records the
-- request's groups its reviewer held.
ALTER TABLE access_requests ADD COLUMN per_group INTEGER NOT NULL DEFAULT 0 CHECK (per_group IN (0, 1));
ALTER TABLE access_reviews ADD COLUMN groups TEXT NOT NULL DEFAULT '[]';
"#,
];

/// Most requests a listing returns.
const LIST_LIMIT: i64 = 500;

/// How long "this store holds no grant" is believed without asking again. Another process
/// sharing the file may create one meanwhile; only what plugins see can lag by this much, since
/// [`Store::cover`] always asks.
pub(super) const NO_GRANTS_FOR_MS: Millis = 1000;

/// The store: one SQLite connection, used from blocking threads.
pub struct Store {
    conn: Mutex<Connection>,
    /// True once a grant exists, so statements need no query while none does.
    any_grants: AtomicBool,
    /// When the store was last asked whether any grant exists.
    checked_at_ms: AtomicI64,
    /// Webhooks that get an outbox delivery for each transition they want.
    webhooks: Vec<Webhook>,
}

fn unavailable(e: impl std::fmt::Display) -> AccessError {
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
    /// Opens (creating if needed) and migrates the store at `path`.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`] when the file cannot be opened or migrated, or was written
    /// by a newer Sluice.
    pub fn open(path: &Path) -> Result<Store, AccessError> {
        let mut conn = Connection::open(path)
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(unavailable)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(unavailable)?;
        migrate(&mut conn)?;
        let store = Store {
            conn: Mutex::new(conn),
            any_grants: AtomicBool::new(false),
            checked_at_ms: AtomicI64::new(Millis::MIN),
            webhooks: Vec::new(),
        };
        store.may_hold_grants(super::now_ms())?;
        Ok(store)
    }

    /// The store, writing an outbox delivery for `webhooks` with each transition they want.
    pub fn with_webhooks(mut self, webhooks: Vec<Webhook>) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// Writes `event` to the outbox, with a delivery for each webhook that wants it, inside the
    /// caller's transaction `conn`. Nothing when no webhook wants it.
    fn emit(&self, conn: &Connection, event: Event) -> Result<(), AccessError> {
        let wanted: Vec<&Webhook> = self.webhooks.iter().filter(|w| w.wants(event.kind)).collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let summary = event.summary();
        let mut body = serde_json::to_value(&event).map_err(unavailable)?;
        if let Some(object) = body.as_object_mut() {
            object.insert("summary".into(), summary.into());
        }
        conn.execute(
            "INSERT INTO outbox (id, kind, at_ms, body) VALUES (?1, ?2, ?3, ?4)",
            params![event.id, event.kind.name(), event.at_ms, body.to_string()],
        )
        .map_err(unavailable)?;
        for webhook in wanted {
            conn.execute(
                "INSERT INTO outbox_deliveries (event_id, webhook, next_at_ms) VALUES (?1, ?2, ?3)",
                params![event.id, webhook.name, event.at_ms],
            )
            .map_err(unavailable)?;
        }
        Ok(())
    }

    /// Deliveries due at `now`, oldest event first, at most `limit`.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn due_deliveries(&self, now: Millis, limit: usize) -> Result<Vec<Due>, AccessError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT d.event_id, d.webhook, o.body, d.attempts, o.at_ms FROM outbox_deliveries d \
                 JOIN outbox o ON o.id = d.event_id WHERE d.delivered_at_ms IS NULL AND d.next_at_ms <= ?1 \
                 ORDER BY o.at_ms, o.id LIMIT ?2",
            )
            .map_err(unavailable)?;
        stmt.query_map(params![now, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok(Due {
                event_id: r.get(0)?,
                webhook: r.get(1)?,
                body: r.get(2)?,
                attempts: r.get(3)?,
                at_ms: r.get(4)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(unavailable)
    }

    /// Records an attempt of `due`: delivered, or failed with `error` and due again later.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn mark_delivery(&self, due: &Due, error: Option<String>, now: Millis) -> Result<(), AccessError> {
        let conn = self.conn()?;
        match error {
            None => conn.execute(
                "UPDATE outbox_deliveries SET attempts = attempts + 1, delivered_at_ms = ?3, last_error = NULL \
                 WHERE event_id = ?1 AND webhook = ?2",
                params![due.event_id, due.webhook, now],
            ),
            Some(error) => conn.execute(
                "UPDATE outbox_deliveries SET attempts = attempts + 1, next_at_ms = ?3, last_error = ?4 \
                 WHERE event_id = ?1 AND webhook = ?2",
                params![due.event_id, due.webhook, now.saturating_add(backoff_ms(due.attempts)), error],
            ),
        }
        .map_err(unavailable)?;
        Ok(())
    }

    /// Records the expiry of every pending request whose time has passed, with its event.
    fn expire(&self, conn: &Connection, now: Millis) -> Result<(), AccessError> {
        let ids: Vec<String> = conn
            .prepare_cached("SELECT id FROM access_requests WHERE status = 'pending' AND expires_at_ms <= ?1")
            .and_then(|mut stmt| stmt.query_map(params![now], |r| r.get(0))?.collect())
            .map_err(unavailable)?;
        for id in ids {
            conn.execute(
                "UPDATE access_requests SET status = 'expired', decided_at_ms = expires_at_ms WHERE id = ?1",
                params![id],
            )
            .map_err(unavailable)?;
            let mut event = Event::new(EventKind::Expired, now, None);
            event.request = load_request(conn, &id, now)?;
            self.emit(conn, event)?;
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
        let any: bool = self
            .conn()?
            .query_row("SELECT EXISTS (SELECT 1 FROM grants)", [], |r| r.get(0))
            .map_err(unavailable)?;
        self.any_grants.fetch_or(any, Ordering::AcqRel);
        self.checked_at_ms.store(now, Ordering::Release);
        Ok(any)
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, AccessError> {
        self.conn.lock().map_err(|_| unavailable("a previous store operation panicked"))
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
        let conn = self.conn()?;
        let grants = select_grants(
            &conn,
            "WHERE g.principal = ?1 AND g.datasource = ?2 AND g.expires_at_ms > ?3 \
             AND g.revoked_at_ms IS NULL AND g.used_at_ms IS NULL",
            params![principal, datasource, now],
        )?;
        Ok(grants)
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
        write(&mut *self.conn()?, |tx| {
            let candidates = select_grants(
                tx,
                "WHERE g.principal = ?1 AND g.datasource = ?2 AND g.fingerprint = ?3 \
             AND g.expires_at_ms > ?4 AND g.revoked_at_ms IS NULL AND g.template IS NULL",
                params![principal, statement.datasource, statement.fingerprint, now],
            )?;
            // A window grant first: using it leaves a one-time grant for later.
            let window = candidates.iter().find(|g| g.uses == GrantUses::Window);
            let exact = |g: &&Grant| {
                g.uses == GrantUses::Once
                    && g.statement
                        .as_ref()
                        .is_some_and(|s| s.text == statement.text && s.params == statement.params)
            };
            let used_event = |grant: &Grant| {
                let mut event = Event::new(EventKind::Used, now, Some(principal));
                event.grant = Some(grant.clone());
                self.emit(tx, event)
            };
            let coverage = if let Some(grant) = window {
                used_event(grant)?;
                Coverage::Covered(Covered { grant_id: grant.id.clone(), expires_at_ms: grant.expires_at_ms })
            } else if let Some(grant) = candidates.iter().filter(exact).find(|g| g.used_at_ms.is_none()) {
                let used = tx
                    .execute(
                        "UPDATE grants SET used_at_ms = ?2 WHERE id = ?1 AND used_at_ms IS NULL",
                        params![grant.id, now],
                    )
                    .map_err(unavailable)?;
                if used != 1 {
                    return Err(unavailable("a one-time grant changed inside its transaction"));
                }
                used_event(grant)?;
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
    /// [`AccessError::Unavailable`].
    pub fn ask(
        &self,
        new: &NewRequest,
        settings: &AccessSettings,
        now: Millis,
    ) -> Result<AccessRequest, AccessError> {
        write(&mut *self.conn()?, |tx| {
            self.expire(tx, now)?;
            let s = &new.statement;
            // Break-glass is never folded into another request: each use is its own record.
            let existing: Option<String> = match new.break_glass {
            true => None,
            false => tx
                .query_row(
                    "SELECT id FROM access_requests WHERE principal = ?1 AND datasource = ?2 AND statement = ?3 \
                     AND params = ?4 AND uses = ?5 AND template IS ?6 AND status = 'pending' AND break_glass = 0 \
                     ORDER BY created_at_ms DESC LIMIT 1",
                    params![new.principal, s.datasource, s.text, json(&s.params), new.uses.name(), new.template],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?,
        };
            let id = match existing {
                Some(id) => id,
                None => {
                    if !new.break_glass {
                        let pending: u32 = tx
                        .query_row(
                            "SELECT count(*) FROM access_requests WHERE principal = ?1 AND status = 'pending'",
                            params![new.principal],
                            |r| r.get(0),
                        )
                        .map_err(unavailable)?;
                        if pending >= settings.max_pending_per_principal {
                            return Err(AccessError::Conflict(format!(
                                "you have {pending} pending access requests, the most allowed; wait until some \
                             are decided or expire"
                            )));
                        }
                    }
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
                    let wanted = new
                        .requested_seconds
                        .or(new.suggested_seconds)
                        .unwrap_or(settings.default_grant.as_secs());
                    let duration = wanted.clamp(1, cap.as_secs().max(1));
                    let (status, expires) = match new.break_glass {
                        true => (RequestStatus::Approved, now),
                        false => (RequestStatus::Pending, now.saturating_add(millis(settings.pending_ttl))),
                    };
                    tx.execute(
                    "INSERT INTO access_requests (id, principal, datasource, kind, statement, params, fingerprint, \
                     relations, reasons, plugins, approver_groups, min_approvals, justification, uses, \
                     duration_seconds, status, created_at_ms, expires_at_ms, break_glass, decided_at_ms, template, \
                     per_group) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, \
                     ?22)",
                    params![
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
                        i64::try_from(duration).unwrap_or(i64::MAX),
                        status.name(),
                        now,
                        expires,
                        new.break_glass,
                        new.break_glass.then_some(now),
                        new.template,
                        new.per_group.unwrap_or(settings.approval_per_group),
                    ],
                )
                .map_err(unavailable)?;
                    if new.break_glass {
                        insert_grant(tx, &id, new, duration, now)?;
                        self.any_grants.store(true, Ordering::Release);
                    }
                    let kind = if new.break_glass { EventKind::BreakGlass } else { EventKind::Created };
                    let mut event = Event::new(kind, now, Some(&new.principal));
                    event.request = load_request(tx, &id, now)?;
                    self.emit(tx, event)?;
                    id
                }
            };
            let request = load_request(tx, &id, now)?.ok_or_else(|| unavailable("a request vanished"))?;
            Ok(request)
        })
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
            None => "1",
            Some(RequestStatus::Pending) => "status = 'pending' AND expires_at_ms > ?2",
            Some(RequestStatus::Expired) => {
                "(status = 'expired' OR (status = 'pending' AND expires_at_ms <= ?2))"
            }
            Some(RequestStatus::Approved) => "status = 'approved'",
            Some(RequestStatus::Rejected) => "status = 'rejected'",
        };
        let scope_condition = match scope {
            Scope::All => "1",
            Scope::Mine => "principal = ?3",
            Scope::ToReview => {
                "principal <> ?3 AND ((status = 'pending' AND expires_at_ms > ?2) OR (break_glass = 1 \
                 AND status = 'approved' AND NOT EXISTS (SELECT 1 FROM access_reviews v WHERE v.request_id = id)))"
            }
        };
        // `?2 = ?2 AND ?3 = ?3`: every variant binds the same three parameters, and SQLite
        // counts a statement's parameters by the highest number it names.
        let sql = format!(
            "SELECT id FROM access_requests WHERE ?2 = ?2 AND ?3 = ?3 AND ({status_condition}) \
             AND ({scope_condition}) ORDER BY created_at_ms DESC, id LIMIT ?1"
        );
        let conn = self.conn()?;
        let ids: Vec<String> = {
            let mut stmt = conn.prepare_cached(&sql).map_err(unavailable)?;
            stmt.query_map(params![LIST_LIMIT, now, viewer], |r| r.get(0))
                .and_then(Iterator::collect)
                .map_err(unavailable)?
        };
        let mut out = Vec::new();
        for id in ids {
            if let Some(request) = load_request(&conn, &id, now)?
                && status.is_none_or(|s| s == request.status)
            {
                out.push(request);
            }
        }
        Ok(out)
    }

    /// Request `id`.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn request(&self, id: &str, now: Millis) -> Result<Option<AccessRequest>, AccessError> {
        load_request(&*self.conn()?, id, now)
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
        write(&mut *self.conn()?, |tx| {
            self.expire(tx, now)?;
            let request = load_request(tx, id, now)?.ok_or_else(|| super::not_found_request(id))?;
            review::check(&request, reviewer)?;
            let groups: Vec<&String> =
                request.approver_groups.iter().filter(|g| reviewer.roles.contains(g)).collect();
            tx.execute(
                "INSERT INTO access_reviews (request_id, reviewer, decision, comment, at_ms, groups) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, reviewer.id, decision.name(), comment, now, json(&groups)],
            )
            .map_err(unavailable)?;
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
                    set_status(tx, id, RequestStatus::Rejected, now)?;
                    tx.execute(
                        "UPDATE grants SET revoked_at_ms = ?2, revoked_by = ?3, revoke_reason = ?4 \
                     WHERE request_id = ?1 AND revoked_at_ms IS NULL AND expires_at_ms > ?2",
                        params![
                            id,
                            now,
                            reviewer.id,
                            comment.as_deref().unwrap_or("break-glass use rejected on review")
                        ],
                    )
                    .map_err(unavailable)?;
                }
            } else if decision == Decision::Reject {
                set_status(tx, id, RequestStatus::Rejected, now)?;
            } else if approvals >= usize::try_from(request.min_approvals).unwrap_or(usize::MAX) && groups_met
            {
                set_status(tx, id, RequestStatus::Approved, now)?;
                // The cap applies again now: the maximum may have been lowered since the request.
                let seconds = request.duration_seconds.min(settings.max_grant.as_secs()).max(1);
                let fingerprint = request.statement.as_ref().map_or("", |s| s.fingerprint.as_str());
                tx.execute(
                "INSERT INTO grants (id, request_id, principal, datasource, fingerprint, uses, created_at_ms, \
                 expires_at_ms, template) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
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
            )
            .map_err(unavailable)?;
                granted = true;
            }
            let request = load_request(tx, id, now)?.ok_or_else(|| super::not_found_request(id))?;
            let kind = match (decision, request.status) {
                (Decision::Reject, _) => Some(EventKind::Rejected),
                (Decision::Approve, RequestStatus::Approved) => Some(EventKind::Approved),
                (Decision::Approve, _) => None,
            };
            if let Some(kind) = kind {
                let mut event = Event::new(kind, now, Some(&reviewer.id));
                event.request = Some(request.clone());
                self.emit(tx, event)?;
            }
            if granted {
                self.any_grants.store(true, Ordering::Release);
            }
            Ok(request)
        })
    }

    /// Whether grant `id` has been revoked.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn is_revoked(&self, id: &str) -> Result<bool, AccessError> {
        self.conn()?
            .query_row("SELECT revoked_at_ms IS NOT NULL FROM grants WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()
            .map(|revoked| revoked.unwrap_or(true))
            .map_err(unavailable)
    }

    /// Every grant, newest first, at most `LIST_LIMIT` (500).
    ///
    /// # Errors
    /// [`AccessError::Unavailable`].
    pub fn grants(&self) -> Result<Vec<Grant>, AccessError> {
        select_grants(&*self.conn()?, "ORDER BY g.created_at_ms DESC, g.id LIMIT ?1", params![LIST_LIMIT])
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
        write(&mut *self.conn()?, |tx| {
            let not_found = || AccessError::NotFound(format!("no grant {id:?} that you may see"));
            let grant = select_grants(tx, "WHERE g.id = ?1", params![id])?
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
            tx.execute(
                "UPDATE grants SET revoked_at_ms = ?2, revoked_by = ?3, revoke_reason = ?4 WHERE id = ?1",
                params![id, now, by.id, reason],
            )
            .map_err(unavailable)?;
            let grant = select_grants(tx, "WHERE g.id = ?1", params![id])?
                .into_iter()
                .next()
                .ok_or_else(not_found)?;
            let mut event = Event::new(EventKind::Revoked, now, Some(&by.id));
            event.grant = Some(grant.clone());
            self.emit(tx, event)?;
            Ok(grant)
        })
    }
}

fn seconds_ms(seconds: u64) -> Millis {
    Millis::try_from(seconds).unwrap_or(Millis::MAX).saturating_mul(1000)
}

/// The grant of a break-glass request, created with it.
fn insert_grant(
    conn: &Connection,
    id: &str,
    new: &NewRequest,
    seconds: u64,
    now: Millis,
) -> Result<(), AccessError> {
    let s = &new.statement;
    conn.execute(
        "INSERT INTO grants (id, request_id, principal, datasource, fingerprint, uses, created_at_ms, expires_at_ms, \
         template) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
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
    )
    .map_err(unavailable)?;
    Ok(())
}

fn millis(d: std::time::Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

/// Runs `f` in one `BEGIN IMMEDIATE` transaction on `conn`, committed when `f` succeeds and
/// rolled back (by dropping it) when it fails: writers never interleave.
fn write<T>(
    conn: &mut Connection,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, AccessError>,
) -> Result<T, AccessError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
    let out = f(&tx)?;
    tx.commit().map_err(unavailable)?;
    Ok(out)
}

fn migrate(conn: &mut Connection) -> Result<(), AccessError> {
    write(conn, |tx| {
        let version: usize = tx
            .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .map(|v| usize::try_from(v).unwrap_or(usize::MAX))
            .map_err(unavailable)?;
        if version > MIGRATIONS.len() {
            return Err(unavailable(format!(
                "the store is at schema version {version}, newer than this Sluice knows ({})",
                MIGRATIONS.len()
            )));
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(version) {
            tx.execute_batch(migration).map_err(|e| unavailable(format!("migration {}: {e}", index + 1)))?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1)).map_err(unavailable)?;
        }
        Ok(())
    })
}

fn set_status(conn: &Connection, id: &str, status: RequestStatus, now: Millis) -> Result<(), AccessError> {
    conn.execute(
        "UPDATE access_requests SET status = ?2, decided_at_ms = ?3 WHERE id = ?1",
        params![id, status.name(), now],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn load_request(conn: &Connection, id: &str, now: Millis) -> Result<Option<AccessRequest>, AccessError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT r.principal, r.datasource, r.kind, r.statement, r.params, r.fingerprint, r.relations, \
             r.reasons, r.plugins, r.approver_groups, r.min_approvals, r.justification, r.uses, \
             r.duration_seconds, r.status, r.created_at_ms, r.expires_at_ms, g.id, r.break_glass, r.template, \
             r.per_group FROM access_requests r LEFT JOIN grants g ON g.request_id = r.id WHERE r.id = ?1",
        )
        .map_err(unavailable)?;
    type Raw = (
        [String; 10],
        u32,
        Option<String>,
        String,
        i64,
        String,
        Millis,
        Millis,
        Option<String>,
        bool,
        Option<String>,
        bool,
    );
    let raw: Option<Raw> = stmt
        .query_row(params![id], |r| {
            Ok((
                [
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                ],
                r.get(10)?,
                r.get(11)?,
                r.get(12)?,
                r.get(13)?,
                r.get(14)?,
                r.get(15)?,
                r.get(16)?,
                r.get(17)?,
                r.get(18)?,
                r.get(19)?,
                r.get(20)?,
            ))
        })
        .optional()
        .map_err(unavailable)?;
    let Some((
        text,
        min_approvals,
        justification,
        uses,
        duration,
        status,
        created,
        expires,
        grant_id,
        break_glass,
        template,
        per_group,
    )) = raw
    else {
        return Ok(None);
    };
    let [
        principal,
        datasource,
        kind,
        statement,
        params_json,
        fingerprint,
        relations,
        reasons,
        plugins,
        groups,
    ] = text;
    let status = RequestStatus::parse(&status).ok_or_else(|| unavailable("a stored status is unknown"))?;
    let statement = match template {
        Some(_) => None,
        None => Some(StatementAsked {
            datasource: datasource.clone(),
            kind,
            text: statement,
            params: from_json(&params_json)?,
            fingerprint,
            relations: from_json(&relations)?,
        }),
    };
    Ok(Some(AccessRequest {
        id: id.to_owned(),
        principal,
        datasource,
        statement,
        template,
        reasons: from_json(&reasons)?,
        plugins: from_json(&plugins)?,
        approver_groups: from_json(&groups)?,
        min_approvals,
        justification,
        uses: GrantUses::parse(&uses).ok_or_else(|| unavailable("a stored grant use is unknown"))?,
        duration_seconds: u64::try_from(duration).unwrap_or(0),
        status: review::settle(status, expires, now),
        created_at_ms: created,
        expires_at_ms: expires,
        reviews: load_reviews(conn, id)?,
        grant_id,
        break_glass,
        per_group,
    }))
}

fn load_reviews(conn: &Connection, id: &str) -> Result<Vec<Review>, AccessError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT reviewer, decision, comment, at_ms, groups FROM access_reviews WHERE request_id = ?1 \
             ORDER BY at_ms, rowid",
        )
        .map_err(unavailable)?;
    let rows = stmt
        .query_map(params![id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(unavailable)?;
    rows.into_iter()
        .map(|(reviewer, decision, comment, at_ms, groups)| {
            let decision =
                Decision::parse(&decision).ok_or_else(|| unavailable("a stored decision is unknown"))?;
            Ok(Review { reviewer, decision, comment, at_ms, groups: from_json(&groups)? })
        })
        .collect()
}

/// Grants matching `filter` (a `WHERE` and/or `ORDER BY` over `grants g`), with their requests'
/// statements, approver groups and approvers.
fn select_grants(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Grant>, AccessError> {
    let sql = format!(
        "SELECT g.id, g.request_id, g.principal, g.uses, g.created_at_ms, g.expires_at_ms, g.used_at_ms, \
         g.revoked_at_ms, g.revoked_by, g.revoke_reason, r.datasource, r.kind, r.statement, r.params, \
         r.fingerprint, r.relations, r.approver_groups, g.template \
         FROM grants g JOIN access_requests r ON r.id = g.request_id {filter}"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(unavailable)?;
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                [r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?],
                [r.get::<_, Millis>(4)?, r.get(5)?],
                r.get::<_, Option<Millis>>(6)?,
                (
                    r.get::<_, Option<Millis>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<String>>(9)?,
                ),
                [
                    r.get::<_, String>(10)?,
                    r.get(11)?,
                    r.get(12)?,
                    r.get(13)?,
                    r.get(14)?,
                    r.get(15)?,
                    r.get(16)?,
                ],
                r.get::<_, Option<String>>(17)?,
            ))
        })
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(unavailable)?;
    rows.into_iter()
        .map(|([id, request_id, principal, uses], [created, expires], used, revoked, statement, template)| {
            let [datasource, kind, text, params_json, fingerprint, relations, groups] = statement;
            let approved_by = load_reviews(conn, &request_id)?
                .into_iter()
                .filter(|r| r.decision == Decision::Approve)
                .map(|r| r.reviewer)
                .collect();
            Ok(Grant {
                id,
                request_id,
                principal,
                statement: match template {
                    Some(_) => None,
                    None => Some(StatementAsked {
                        datasource: datasource.clone(),
                        kind,
                        text,
                        params: from_json(&params_json)?,
                        fingerprint,
                        relations: from_json(&relations)?,
                    }),
                },
                datasource,
                template,
                uses: GrantUses::parse(&uses).ok_or_else(|| unavailable("a stored grant use is unknown"))?,
                approved_by,
                approver_groups: from_json(&groups)?,
                created_at_ms: created,
                expires_at_ms: expires,
                used_at_ms: used,
                revoked: match revoked {
                    (Some(at_ms), by, reason) => {
                        Some(Revocation { by: by.unwrap_or_default(), reason, at_ms })
                    }
                    _ => None,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let store = Store::open(&path).unwrap();
        let request = store.request("r1", 1).unwrap().unwrap();
        assert_eq!(request.principal, "alice");
        assert!(!request.break_glass, "the new column's default applies to old rows");
        let version: i64 = store.conn().unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, i64::try_from(MIGRATIONS.len()).unwrap());
        drop(store);
        // Opening again changes nothing.
        assert!(Store::open(&path).unwrap().request("r1", 1).unwrap().is_some());
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn a_store_from_a_newer_sluice_is_refused() {
        let path = temp_path("future");
        Connection::open(&path).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();
        let error = Store::open(&path).err().unwrap();
        assert!(matches!(&error, AccessError::Unavailable(m) if m.contains("newer")), "{error:?}");
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn a_grant_without_an_end_cannot_be_stored() {
        let path = temp_path("check");
        let store = Store::open(&path).unwrap();
        let conn = store.conn().unwrap();
        conn.execute_batch(
            "INSERT INTO access_requests (id, principal, datasource, kind, statement, params, fingerprint, \
             relations, reasons, plugins, approver_groups, min_approvals, uses, duration_seconds, status, \
             created_at_ms, expires_at_ms) VALUES ('r', 'a', 'app', 'read', 's', '[]', 'f', '[]', '[]', '[]', \
             '[]', 1, 'once', 1, 'approved', 0, 1)",
        )
        .unwrap();
        let forever = conn.execute(
            "INSERT INTO grants (id, request_id, principal, datasource, fingerprint, uses, created_at_ms, \
             expires_at_ms) VALUES ('g', 'r', 'a', 'app', 'f', 'once', 10, 10)",
            [],
        );
        assert!(forever.is_err(), "expiry must come after creation");
        drop(conn);
        std::fs::remove_file(&path).ok();
    }
}
