//! Webhooks on every access transition, delivered from a transactional outbox.
//!
//! A transition and its event are written in the same store transaction (the outbox), with one
//! delivery row per configured webhook, so an event exists exactly when its transition does. A
//! worker posts due deliveries, marks each delivered on a `2xx`, and otherwise tries again with
//! a doubling back-off capped at five minutes, forever: a receiver that is down, or a Sluice
//! that restarts, delays events but loses none. Each event carries a stable id; a receiver that
//! answered `2xx` is not sent it again (a crash between its answer and the mark is the one case
//! that repeats, so receivers should ignore an id they have seen).
//!
//! `json` webhooks get the event as JSON, signed: `Sluice-Signature: t=<ms>,v1=<hex>` where
//! `<hex>` is HMAC-SHA256 over `<ms>.<body>` with the webhook's secret. `slack` webhooks get a
//! Slack-compatible `{"text": ...}` body.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::{AccessError, AccessRequest, Grant, Millis, RelationAsked, Store, StoreLocation, now_ms};

/// How often the worker looks for due deliveries.
const POLL: Duration = Duration::from_millis(250);
/// The longest wait between two attempts of one delivery.
const MAX_BACKOFF_MS: Millis = 5 * 60 * 1000;
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries attempted per poll.
const BATCH: usize = 50;

/// How long a claimed delivery is left to its claimant: one attempt and its bookkeeping. A
/// process that dies holding a claim delays that delivery by at most this much.
const CLAIM_MS: Millis = 15_000;

/// A transition webhooks hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventKind {
    /// A request was filed.
    #[serde(rename = "request.created")]
    Created,
    /// A request got its last approval; its grant exists.
    #[serde(rename = "request.approved")]
    Approved,
    /// A request was rejected (for break-glass: on review, which revokes its grant).
    #[serde(rename = "request.rejected")]
    Rejected,
    /// A pending request was not decided in time.
    #[serde(rename = "request.expired")]
    Expired,
    /// Break-glass access was taken.
    #[serde(rename = "request.break_glass")]
    BreakGlass,
    /// A grant was revoked.
    #[serde(rename = "grant.revoked")]
    Revoked,
    /// A statement ran under a grant.
    #[serde(rename = "grant.used")]
    Used,
}

impl EventKind {
    /// Every kind, in documentation order.
    pub const ALL: [EventKind; 7] = [
        EventKind::Created,
        EventKind::Approved,
        EventKind::Rejected,
        EventKind::Expired,
        EventKind::BreakGlass,
        EventKind::Revoked,
        EventKind::Used,
    ];

    /// The name in bodies and configuration.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Created => "request.created",
            EventKind::Approved => "request.approved",
            EventKind::Rejected => "request.rejected",
            EventKind::Expired => "request.expired",
            EventKind::BreakGlass => "request.break_glass",
            EventKind::Revoked => "grant.revoked",
            EventKind::Used => "grant.used",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    fn critical(self) -> bool {
        self == EventKind::BreakGlass
    }
}

/// A webhook's body format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// The event as JSON, HMAC-signed.
    Json,
    /// `{"text": ...}` for a Slack incoming webhook.
    Slack,
}

/// One `[[access.webhooks]]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its name: deliveries are recorded per name.
    pub name: String,
    /// Where events are posted.
    pub url: String,
    /// The body format.
    pub format: WebhookFormat,
    /// The HMAC secret (`json`: required).
    pub secret: Option<String>,
    /// The events it receives.
    pub events: Vec<EventKind>,
}

impl Webhook {
    /// Whether it receives `kind`.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.events.contains(&kind)
    }
}

/// An event as stored and as a `json` webhook receives it.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Stable across retries.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// `critical` for break-glass, else `info`.
    pub severity: &'static str,
    /// When, milliseconds since the Unix epoch (UTC).
    pub at_ms: Millis,
    /// Who caused it (the requester, a reviewer, a revoker), when a principal did.
    pub actor: Option<String>,
    /// The request as it stands after the transition.
    pub request: Option<AccessRequest>,
    /// The grant concerned, for grant events.
    pub grant: Option<Grant>,
}

impl Event {
    /// An event of `kind` at `at_ms`.
    pub fn new(kind: EventKind, at_ms: Millis, actor: Option<&str>) -> Self {
        Event {
            id: uuid::Uuid::new_v4().simple().to_string(),
            kind,
            severity: if kind.critical() { "critical" } else { "info" },
            at_ms,
            actor: actor.map(str::to_owned),
            request: None,
            grant: None,
        }
    }

    /// One line for people: what happened, to what, by whom.
    pub fn summary(&self) -> String {
        let who = self.actor.as_deref().unwrap_or("Sluice");
        let what = match (&self.request, &self.grant) {
            (Some(r), _) => describe(
                r.template.as_deref(),
                r.relation.as_ref(),
                r.statement.as_ref().map(|s| s.text.as_str()),
                &r.principal,
                &r.datasource,
            ),
            (None, Some(g)) => describe(
                g.template.as_deref(),
                g.relation.as_ref(),
                g.statement.as_ref().map(|s| s.text.as_str()),
                &g.principal,
                &g.datasource,
            ),
            (None, None) => String::new(),
        };
        let mark = if self.kind.critical() { ":rotating_light: " } else { "" };
        format!("{mark}[{}] {who}: {what}", self.kind.name())
    }
}

fn describe(
    template: Option<&str>,
    relation: Option<&RelationAsked>,
    text: Option<&str>,
    principal: &str,
    datasource: &str,
) -> String {
    match (template, relation, text) {
        (Some(t), ..) => format!("role template {t} for {principal} on {datasource}"),
        (None, Some(r), _) => {
            format!("{} on relation {} for {principal} on {datasource}", r.statements.join(", "), r.relation)
        }
        (None, None, Some(text)) => format!("`{text}` by {principal} on {datasource}"),
        (None, None, None) => format!("{principal} on {datasource}"),
    }
}

/// `t=<ms>,v1=<hex HMAC-SHA256 of "<ms>.<body>">`.
pub fn signature(secret: &str, at_ms: Millis, body: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(format!("{at_ms}.{body}").as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={at_ms},v1={hex}")
}

/// A delivery due now.
#[derive(Debug, Clone)]
pub struct Due {
    /// The event.
    pub event_id: String,
    /// The webhook's name.
    pub webhook: String,
    /// The stored event body (JSON).
    pub body: String,
    /// Attempts so far.
    pub attempts: u32,
    /// The event's time.
    pub at_ms: Millis,
}

/// The delay before attempt `attempts + 1`: 1 s, 2 s, 4 s, ... up to five minutes.
pub fn backoff_ms(attempts: u32) -> Millis {
    1000_i64.saturating_mul(1_i64 << attempts.min(20)).min(MAX_BACKOFF_MS)
}

/// Runs deliveries for `webhooks` from the store at `location` until aborted. Several
/// processes sharing a store each run one; a delivery is claimed before it is sent, so each is
/// sent by one of them.
pub(super) async fn deliver(location: StoreLocation, webhooks: Vec<Webhook>) {
    let client = match reqwest::Client::builder().timeout(ATTEMPT_TIMEOUT).build() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client; access events stay in the outbox");
            return;
        }
    };
    let mut store: Option<Arc<Store>> = None;
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if store.is_none() && location.may_exist() {
            let location = location.clone();
            match tokio::task::spawn_blocking(move || Store::open(&location)).await {
                Ok(Ok(opened)) => store = Some(Arc::new(opened)),
                Ok(Err(e)) => tracing::warn!(error = %e, "webhook worker cannot open the access store yet"),
                Err(e) => tracing::warn!(error = %e, "webhook worker cannot open the access store yet"),
            }
        }
        let Some(store) = store.as_ref() else { continue };
        let due = on(store, move |s| s.due_deliveries(now_ms(), BATCH)).await;
        let due = match due {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the access outbox");
                continue;
            }
        };
        for item in due {
            let Some(webhook) = webhooks.iter().find(|w| w.name == item.webhook) else { continue };
            let claim = item.clone();
            let claimed = on(store, move |s| {
                let now = now_ms();
                s.claim_delivery(&claim, now, now.saturating_add(CLAIM_MS))
            })
            .await;
            match claimed {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim a webhook delivery");
                    continue;
                }
            }
            let outcome = post(&client, webhook, &item).await;
            if let Err(e) = &outcome {
                tracing::warn!(webhook = webhook.name.as_str(), event = item.event_id.as_str(), attempts = item.attempts + 1, error = %e, "webhook delivery failed; it will be retried");
            }
            if let Err(e) = on(store, move |s| s.mark_delivery(&item, outcome.err(), now_ms())).await {
                tracing::warn!(error = %e, "cannot record a webhook delivery");
            }
        }
    }
}

/// Runs `f` on `store` on a blocking thread.
async fn on<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&Store) -> Result<T, AccessError> + Send + 'static,
) -> Result<T, AccessError> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| AccessError::Unavailable(format!("the access store's worker failed: {e}")))?
}

async fn post(client: &reqwest::Client, webhook: &Webhook, item: &Due) -> Result<(), String> {
    let (body, signature) = match webhook.format {
        WebhookFormat::Json => {
            let signature = webhook.secret.as_deref().map(|s| signature(s, item.at_ms, &item.body));
            (item.body.clone(), signature)
        }
        WebhookFormat::Slack => {
            let text = serde_json::from_str::<serde_json::Value>(&item.body)
                .ok()
                .and_then(|v| v.get("summary").and_then(|s| s.as_str()).map(str::to_owned))
                .unwrap_or_default();
            (serde_json::json!({ "text": text }).to_string(), None)
        }
    };
    let mut request = client
        .post(&webhook.url)
        .header("content-type", "application/json")
        .header("sluice-event-id", &item.event_id)
        .body(body);
    if let Some(signature) = signature {
        request = request.header("sluice-signature", signature);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    match response.status() {
        status if status.is_success() => Ok(()),
        status => Err(format!("the receiver answered {status}")),
    }
}
