//! `sluice access`: access requests and grants from the command line, against a running Sluice
//! (its `/v1/access-requests` and `/v1/grants` API), as readable tables or `--json`.

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

/// Where Sluice is and who is asking.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// An API key or JWT.
    pub token: String,
    /// Print the API's JSON instead of tables.
    pub json: bool,
}

/// One `sluice access` command.
#[derive(Debug, Clone)]
pub enum Action {
    /// Requests I filed or may review.
    List {
        /// `pending`, `approved`, `rejected`, `expired`.
        status: Option<String>,
        /// `mine`, `review`, `all`.
        scope: Option<String>,
    },
    /// One request.
    Show {
        /// Its id.
        id: String,
    },
    /// Ask ahead: the body of `POST /v1/access-requests`.
    Request {
        /// The JSON body.
        body: Value,
    },
    /// Approve or reject.
    Review {
        /// Its id.
        id: String,
        /// `approve` or `reject`.
        decision: &'static str,
        /// Why.
        comment: Option<String>,
    },
    /// Grants I hold or may revoke.
    Grants {
        /// Include ended ones.
        all: bool,
    },
    /// Revoke a grant.
    Revoke {
        /// Its id.
        id: String,
        /// Why.
        reason: Option<String>,
    },
}

/// Runs `action` against `target`, writing the answer to `out`.
///
/// # Errors
/// The API's error (code and message), or a transport failure.
pub async fn run(target: &Target, action: Action, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let base = target.url.trim_end_matches('/');
    let (method, path, body) = match &action {
        Action::List { status, scope } => {
            let mut query = Vec::new();
            if let Some(status) = status {
                query.push(format!("status={status}"));
            }
            if let Some(scope) = scope {
                query.push(format!("scope={scope}"));
            }
            let query = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
            (reqwest::Method::GET, format!("/v1/access-requests{query}"), None)
        }
        Action::Show { id } => (reqwest::Method::GET, format!("/v1/access-requests/{}", segment(id)), None),
        Action::Request { body } => (reqwest::Method::POST, "/v1/access-requests".into(), Some(body.clone())),
        Action::Review { id, decision, comment } => (
            reqwest::Method::POST,
            format!("/v1/access-requests/{}/{decision}", segment(id)),
            Some(json!({ "comment": comment })),
        ),
        Action::Grants { all } => {
            (reqwest::Method::GET, format!("/v1/grants{}", if *all { "?all=true" } else { "" }), None)
        }
        Action::Revoke { id, reason } => (
            reqwest::Method::POST,
            format!("/v1/grants/{}/revoke", segment(id)),
            Some(json!({ "comment": reason })),
        ),
    };
    let mut request = client.request(method, format!("{base}{path}")).bearer_auth(&target.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.with_context(|| format!("cannot reach Sluice at {base}"))?;
    let status = response.status();
    let answer: Value =
        response.json().await.with_context(|| format!("Sluice answered {status} without JSON"))?;
    if !status.is_success() {
        let error = field(&answer, "error");
        bail!(
            "{} ({}): {}",
            field(error, "code").as_str().unwrap_or("error"),
            status.as_u16(),
            field(error, "message").as_str().unwrap_or("")
        );
    }
    if target.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
        return Ok(());
    }
    let now = chrono::Utc::now().timestamp_millis();
    match action {
        Action::List { .. } => {
            requests_table(out, field(&answer, "requests").as_array().map_or(&[][..], Vec::as_slice), now)?
        }
        Action::Grants { .. } => {
            grants_table(out, field(&answer, "grants").as_array().map_or(&[][..], Vec::as_slice), now)?
        }
        Action::Revoke { .. } => grants_table(out, std::slice::from_ref(&answer), now)?,
        Action::Show { .. } | Action::Request { .. } | Action::Review { .. } => {
            request_details(out, &answer, now)?
        }
    }
    Ok(())
}

/// `id` as one URL path segment: only the characters ids are made of pass unescaped.
fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `value[key]`, or null: JSON from the API is read leniently, never by panicking index.
fn field<'v>(value: &'v Value, key: &str) -> &'v Value {
    value.get(key).unwrap_or(&Value::Null)
}

/// What a request or grant is for: the statement's text, the role template, or the relation.
fn what(item: &Value) -> String {
    let relation = field(item, "relation");
    match (field(item, "template").as_str(), field(relation, "relation").as_str()) {
        (Some(template), _) => format!("template {template}"),
        (None, Some(name)) => format!("{} on {name}", statement_kinds(relation)),
        (None, None) => field(field(item, "statement"), "text").as_str().unwrap_or("").to_string(),
    }
}

/// A relation request's statement kinds, `read, update`.
fn statement_kinds(relation: &Value) -> String {
    let kinds = field(relation, "statements").as_array().map(Vec::as_slice).unwrap_or_default();
    kinds.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
}

/// `in 59m`, `3h ago`.
fn relative(at_ms: Option<i64>, now: i64) -> String {
    let Some(at) = at_ms else { return "-".into() };
    let seconds = (at - now) / 1000;
    let span = |s: i64| match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d", s / 86_400),
    };
    if seconds >= 0 { format!("in {}", span(seconds)) } else { format!("{} ago", span(-seconds)) }
}

fn table(out: &mut impl std::io::Write, header: &[&str], rows: Vec<Vec<String>>) -> std::io::Result<()> {
    const WIDEST: usize = 60;
    let cell = |text: &str| -> String {
        let text = text.replace(['\n', '\t'], " ");
        match text.char_indices().nth(WIDEST) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        }
    };
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
    let widths: Vec<usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter().map(|r| r.get(i).map_or(0, |c| c.chars().count())).chain([h.len()]).max().unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in &rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    if rows.is_empty() {
        writeln!(out, "(none)")?;
    }
    Ok(())
}

fn requests_table(out: &mut impl std::io::Write, requests: &[Value], now: i64) -> std::io::Result<()> {
    let rows = requests
        .iter()
        .map(|r| {
            let approvals = field(r, "reviews")
                .as_array()
                .map_or(0, |v| v.iter().filter(|x| field(x, "decision") == "approve").count());
            vec![
                field(r, "id").as_str().unwrap_or("").to_string(),
                format!(
                    "{}{}",
                    field(r, "status").as_str().unwrap_or(""),
                    if field(r, "break_glass") == true { " (break-glass)" } else { "" }
                ),
                field(r, "principal").as_str().unwrap_or("").to_string(),
                field(r, "datasource").as_str().unwrap_or("").to_string(),
                format!("{approvals}/{}", field(r, "min_approvals")),
                match field(r, "status").as_str() {
                    Some("pending") => relative(field(r, "expires_at_ms").as_i64(), now),
                    _ => "-".into(),
                },
                what(r),
            ]
        })
        .collect();
    table(out, &["ID", "STATUS", "PRINCIPAL", "DATASOURCE", "APPROVALS", "EXPIRES", "WHAT"], rows)
}

fn grants_table(out: &mut impl std::io::Write, grants: &[Value], now: i64) -> std::io::Result<()> {
    let rows = grants
        .iter()
        .map(|g| {
            let state = if field(g, "revoked").is_object() {
                "revoked"
            } else if field(g, "used_at_ms").is_i64() {
                "used"
            } else if field(g, "expires_at_ms").as_i64().is_some_and(|e| e <= now) {
                "expired"
            } else {
                "live"
            };
            let approved_by: Vec<&str> = field(g, "approved_by")
                .as_array()
                .map_or_else(Vec::new, |a| a.iter().filter_map(Value::as_str).collect());
            vec![
                field(g, "id").as_str().unwrap_or("").to_string(),
                state.to_string(),
                field(g, "uses").as_str().unwrap_or("").to_string(),
                field(g, "principal").as_str().unwrap_or("").to_string(),
                field(g, "datasource").as_str().unwrap_or("").to_string(),
                relative(field(g, "expires_at_ms").as_i64(), now),
                if approved_by.is_empty() { "-".into() } else { approved_by.join(",") },
                what(g),
            ]
        })
        .collect();
    table(out, &["ID", "STATE", "USES", "PRINCIPAL", "DATASOURCE", "EXPIRES", "APPROVED BY", "WHAT"], rows)
}

fn request_details(out: &mut impl std::io::Write, r: &Value, now: i64) -> std::io::Result<()> {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    writeln!(out, "id:             {}", text(field(r, "id")))?;
    writeln!(
        out,
        "status:         {}{}",
        text(field(r, "status")),
        if field(r, "break_glass") == true { " (break-glass)" } else { "" }
    )?;
    writeln!(out, "principal:      {}", text(field(r, "principal")))?;
    writeln!(out, "datasource:     {}", text(field(r, "datasource")))?;
    let relation = field(r, "relation");
    match (field(r, "template").as_str(), field(relation, "relation").as_str()) {
        (Some(template), _) => writeln!(out, "template:       {template}")?,
        (None, Some(name)) => {
            writeln!(out, "relation:       {name}")?;
            writeln!(out, "statements:     {}", statement_kinds(relation))?;
        }
        (None, None) => {
            writeln!(out, "statement:      {}", text(field(field(r, "statement"), "text")))?;
            writeln!(out, "params:         {}", field(field(r, "statement"), "params"))?;
            writeln!(out, "kind:           {}", text(field(field(r, "statement"), "kind")))?;
        }
    }
    writeln!(out, "uses:           {}", text(field(r, "uses")))?;
    writeln!(out, "duration:       {}s", field(r, "duration_seconds"))?;
    writeln!(out, "justification:  {}", field(r, "justification").as_str().unwrap_or("-"))?;
    writeln!(out, "reasons:        {}", field(r, "reasons"))?;
    writeln!(out, "approvers:      {} (need {})", field(r, "approver_groups"), field(r, "min_approvals"))?;
    if field(r, "status") == "pending" {
        writeln!(out, "expires:        {}", relative(field(r, "expires_at_ms").as_i64(), now))?;
    }
    writeln!(out, "grant:          {}", field(r, "grant_id").as_str().unwrap_or("-"))?;
    for review in field(r, "reviews").as_array().map_or(&[][..], Vec::as_slice) {
        writeln!(
            out,
            "review:         {} by {} {}: {}",
            text(field(review, "decision")),
            text(field(review, "reviewer")),
            relative(field(review, "at_ms").as_i64(), now),
            field(review, "comment").as_str().unwrap_or("-")
        )?;
    }
    Ok(())
}
