//! Policy plugins in all four languages, end to end through `POST /v1/query`: the example
//! plugins in Python, JavaScript and C (`plugins/examples/`) and the Rust ones (guardrails, test
//! plugins), all from `plugins/dist/` (built by `plugins/build`), judging statements on the
//! SQLite datasources `app` and `other` (each with an empty table `t (id, v)`).

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use serde_json::{Value, json};
use tracing_subscriber::layer::SubscriberExt as _;

use crate::harness::{
    KEY, SQLITE, Sluice, SpanRecorder, TempDir, assert_error, base_toml, plugin_toml, policy_toml,
};

/// Limits for the Python and JavaScript components: a debug build of Sluice runs them much
/// slower than a release build, and Python needs more than the default 32 MiB.
const HEAVY: &str = "timeout_ms = 5000\nmemory_limit_mb = 64";

/// Starts Sluice with `plugins`. Starts are serialised: the first to load a Python or
/// JavaScript component compiles it (seconds, much longer in a debug build) into the shared
/// artifact cache, and the tests waiting behind it load it from there instead of compiling the
/// same component concurrently on CI's two cores.
async fn start(plugins: &str) -> Sluice {
    static STARTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one_at_a_time = STARTING.lock().await;
    Sluice::with_plugins(&format!("{}{plugins}", policy_toml(0))).await
}

/// The example plugin for `lang` as a `[[plugins]]` table named `name`.
fn example(name: &str, lang: &str, extra: &str) -> String {
    plugin_toml(name, &format!("business-hours-{lang}"), &format!("{HEAVY}\n{extra}"))
}

/// An example plugin configuration whose write window is always open.
const OPEN: &str = "{ open_hour = 0, close_hour = 24 }";

/// An example plugin configuration whose write window excludes the current UTC hour and the next
/// one (so an hour boundary passing during the test cannot open it). The window is never empty
/// (`open_hour == close_hour` is an init error).
fn closed_hours() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let hour = secs / 3600 % 24;
    let open = (hour + 2) % 24;
    let close = if hour == 0 { 24 } else { hour };
    format!("{{ open_hour = {open}, close_hour = {close} }}")
}

/// Runs `sql` on `datasource` and asserts `200`; returns the body.
async fn ok(sluice: &Sluice, datasource: &str, sql: &str) -> Value {
    let (status, body) = sluice.query_on(datasource, sql).await;
    assert_eq!(status, StatusCode::OK, "{sql} on {datasource}: {body}");
    body
}

/// Runs `sql` on `datasource` and asserts a `403 policy_denied` naming each of `parts`; returns
/// the message.
async fn denied(sluice: &Sluice, datasource: &str, sql: &str, parts: &[&str]) -> String {
    let (status, body) = sluice.query_on(datasource, sql).await;
    assert_error(status, &body, "policy_denied");
    assert!(body.get("approval").is_none(), "{body}");
    let message = body["error"]["message"].as_str().unwrap().to_string();
    for part in parts {
        assert!(message.contains(part), "{sql} on {datasource}: {part:?} not in {message:?}");
    }
    message
}

/// Runs `sql` on `datasource` and asserts `202 approval_required`; returns the approval object.
async fn approval(sluice: &Sluice, datasource: &str, sql: &str) -> Value {
    let (status, body) = sluice.query_on(datasource, sql).await;
    assert_error(status, &body, "approval_required");
    assert_eq!(status, StatusCode::ACCEPTED);
    body["approval"].clone()
}

/// The number of rows in `t` on `datasource` (the read must be allowed).
async fn count(sluice: &Sluice, datasource: &str) -> i64 {
    let body = ok(sluice, datasource, "SELECT count(*) AS n FROM t LIMIT 1").await;
    let n = &body["rows"][0][0];
    n.as_i64().or_else(|| n.as_str().and_then(|s| s.parse().ok())).unwrap_or_else(|| panic!("{body}"))
}

/// One example plugin, twice: `business-hours-<lang>` (warm instances) on `app` with an open
/// write window, `t` as a big table and approval for deletes; `after-hours-<lang>` (fresh
/// instances) on `other` with a closed write window.
async fn example_end_to_end(lang: &str) {
    let name = format!("business-hours-{lang}");
    let after = format!("after-hours-{lang}");
    let config = "{ open_hour = 0, close_hour = 24, big_tables = [\"t\"], max_rows = 10, \
                  approval_for = [\"delete\"], approvers = [\"oncall\", \"dba\"], approval_seconds = 600 }";
    let plugins = format!(
        "{}{}",
        example(&name, lang, &format!("datasources = [\"app\"]\nmode = \"warm\"\nconfig = {config}")),
        example(&after, lang, &format!("datasources = [\"other\"]\nconfig = {}", closed_hours())),
    );
    let sluice = start(&plugins).await;

    // Allow: writes inside the window, reads of the big table with a small enough LIMIT.
    let body = ok(&sluice, "app", "INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b')").await;
    assert_eq!(body["rows_affected"], 2, "{body}");
    let body = ok(&sluice, "app", "SELECT id, v FROM t ORDER BY id LIMIT 10").await;
    assert_eq!(body["row_count"], 2, "{body}");
    assert_eq!(body["rows"][0][1], "a", "{body}");
    assert_eq!(body["rows"][1][1], "b", "{body}");

    // Deny: the big table without a LIMIT, or with one over max_rows.
    for sql in ["SELECT id FROM t", "SELECT id FROM t LIMIT 11"] {
        denied(&sluice, "app", sql, &[&format!("`{name}`"), "SELECT on t needs LIMIT <= 10"]).await;
    }

    // Require approval: deletes, with the configured groups and duration; nothing is deleted.
    let approval = approval(&sluice, "app", "DELETE FROM t WHERE id = 1").await;
    assert_eq!(approval["reasons"], json!(["deletes need approval"]), "{approval}");
    assert_eq!(approval["approver_groups"], json!(["dba", "oncall"]), "{approval}");
    assert_eq!(approval["suggested_duration_seconds"], 600, "{approval}");
    assert_eq!(approval["plugins"], json!([name]), "{approval}");
    assert_eq!(count(&sluice, "app").await, 2);

    // Scoped: on `other` only `after-hours-<lang>` judges. It has no big tables but denies
    // writes, outside its window, naming itself and its window.
    ok(&sluice, "other", "SELECT id FROM t").await;
    for sql in ["INSERT INTO t (id, v) VALUES (1, 'x')", "DELETE FROM t WHERE id = 1"] {
        let message =
            denied(&sluice, "other", sql, &[&format!("`{after}`"), "writes are allowed between"]).await;
        assert!(!message.contains(&name), "{message}");
    }
    assert_eq!(count(&sluice, "other").await, 0, "denied writes never ran");

    // Warm instances keep answering the same.
    for _ in 0..3 {
        ok(&sluice, "app", "SELECT id FROM t LIMIT 5").await;
        denied(&sluice, "app", "SELECT id FROM t", &[&format!("`{name}`")]).await;
    }
}

#[tokio::test]
async fn python_plugin_end_to_end() {
    example_end_to_end("python").await;
}

#[tokio::test]
async fn javascript_plugin_end_to_end() {
    example_end_to_end("js").await;
}

#[tokio::test]
async fn c_plugin_end_to_end() {
    example_end_to_end("c").await;
}

#[tokio::test]
async fn rust_plugins_end_to_end() {
    let guardrails = plugin_toml(
        "guardrails",
        "guardrails",
        "datasources = [\"app\"]\nconfig = { require_approval = [{ when = { kinds = [\"delete\"] }, \
         reason = \"deletes need a DBA\", approvers = [\"dba\"], duration_secs = 900 }] }",
    );
    let deny_other = plugin_toml("test-deny", "test-deny", "datasources = [\"other\"]");
    let sluice =
        start(&format!("{guardrails}{}{deny_other}", plugin_toml("test-allow", "test-allow", ""))).await;

    ok(&sluice, "app", "INSERT INTO t (id, v) VALUES (1, 'a')").await;
    let body = ok(&sluice, "app", "SELECT id, v FROM t").await;
    assert_eq!(body["rows"][0][1], "a", "{body}");

    denied(&sluice, "app", "DELETE FROM t", &["`guardrails`", "DELETE on t must have a WHERE clause"]).await;
    let approval = approval(&sluice, "app", "DELETE FROM t WHERE id = 1").await;
    assert_eq!(approval["reasons"], json!(["deletes need a DBA"]), "{approval}");
    assert_eq!(approval["approver_groups"], json!(["dba"]), "{approval}");
    assert_eq!(approval["suggested_duration_seconds"], 900, "{approval}");
    assert_eq!(approval["plugins"], json!(["guardrails"]), "{approval}");
    assert_eq!(count(&sluice, "app").await, 1);

    // On `other` guardrails does not judge; test-deny does.
    let message = denied(&sluice, "other", "DELETE FROM t", &["`test-deny`", "denied by test"]).await;
    assert!(!message.contains("guardrails"), "{message}");
}

#[tokio::test]
async fn decisions_combine_across_a_chain_of_languages() {
    // Python allows, JavaScript asks for approval, C denies (writes are closed), guardrails
    // allows: the deny wins and names the C plugin. Reads: all four allow.
    let chain = format!(
        "{}{}{}{}",
        example("py", "python", &format!("config = {OPEN}")),
        example("js", "js", "config = { open_hour = 0, close_hour = 24, approval_for = [\"delete\"] }"),
        example("c", "c", &format!("config = {}", closed_hours())),
        plugin_toml("guardrails", "guardrails", ""),
    );
    let sluice = start(&chain).await;
    let message = denied(
        &sluice,
        "app",
        "DELETE FROM t WHERE id = 1",
        &["denied by policy plugin `c`: writes are allowed between"],
    )
    .await;
    assert!(!message.contains("`py`") && !message.contains("`js`"), "{message}");
    let body = ok(&sluice, "app", "SELECT id FROM t").await;
    assert_eq!(body["row_count"], 0, "{body}");

    // Python and Rust (test-approval) ask for approval, JavaScript and C allow: 202 with both
    // reasons, the union of the groups and the shortest duration.
    let chain = format!(
        "{}{}{}{}",
        example(
            "py",
            "python",
            "config = { approval_for = [\"delete\"], approvers = [\"oncall\"], approval_seconds = 600, \
             open_hour = 0, close_hour = 24 }"
        ),
        example("js", "js", &format!("config = {OPEN}")),
        plugin_toml("rust", "test-approval", ""),
        example("c", "c", &format!("config = {OPEN}")),
    );
    let sluice = start(&chain).await;
    let approval = approval(&sluice, "app", "DELETE FROM t WHERE id = 1").await;
    assert_eq!(approval["reasons"], json!(["deletes need approval", "needs a human"]), "{approval}");
    assert_eq!(approval["approver_groups"], json!(["dba", "oncall"]), "{approval}");
    assert_eq!(approval["suggested_duration_seconds"], 600, "{approval}");
    assert_eq!(approval["plugins"], json!(["py", "rust"]), "{approval}");
}

#[tokio::test]
async fn the_policy_span_records_the_verdict_under_the_request() {
    let recorder = SpanRecorder::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    let sluice = start(&example("hours", "c", "config = { big_tables = [\"t\"] }")).await;
    // Other tests' threads, without this subscriber, may have cached "never" for a callsite
    // while this test waited to start: recompute every callsite's interest now.
    tracing::callsite::rebuild_interest_cache();
    ok(&sluice, "app", "SELECT id FROM t LIMIT 1").await;
    denied(&sluice, "app", "SELECT id FROM t", &["`hours`"]).await;

    let spans = recorder.spans();
    let policy: Vec<_> = spans.iter().filter(|(name, ..)| name == "policy").collect();
    assert_eq!(policy.len(), 2, "{spans:?}");
    for (_, parent, _) in &policy {
        assert_eq!(parent.as_deref(), Some("request"), "{spans:?}");
    }
    let (allowed, refused) = (&policy[0].2, &policy[1].2);
    assert!(allowed.contains("verdict=\"allow\""), "{allowed}");
    assert!(allowed.contains("plugins=\"hours\""), "{allowed}");
    assert!(refused.contains("verdict=\"deny\""), "{refused}");
    assert!(refused.contains("denied_by=\"hours\""), "{refused}");
    assert!(refused.contains("hours.rule") && refused.contains("big-table-limit"), "{refused}");
    assert!(!format!("{spans:?}").contains(KEY), "tokens never reach telemetry");
}

#[test]
fn check_fails_and_names_a_plugin_built_for_another_contract() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("init.sql"), "-- empty database\n").unwrap();
    let path = dir.path().join("sluice.toml");
    let toml = format!(
        "{}\n[datasources.app]\n{SQLITE}\n{}{}{}",
        base_toml(),
        policy_toml(0),
        plugin_toml("fine", "test-allow", ""),
        plugin_toml("old", "test-old-contract", ""),
    );
    std::fs::write(&path, toml).unwrap();
    let output =
        Command::new(env!("CARGO_BIN_EXE_sluice")).args(["check", "--config"]).arg(&path).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("plugin fine: loaded"), "{stdout}");
    let line = stdout.lines().find(|l| l.contains("plugin old:")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains("UNAVAILABLE"), "{line}");
    assert!(line.contains("built for contract sluice:policy@0.0.9; this Sluice supports 0.1.x"), "{line}");
    assert!(stdout.contains("datasource app (sqlite): reachable"), "{stdout}");
    assert!(stderr.contains("1 plugin(s) unavailable"), "{stderr}");
}

/// One evaluation at a time must still fit a Python component: its dozens of core instances
/// once outgrew an instance pool sized for a single evaluation, and every call trapped.
#[tokio::test]
async fn heavy_plugins_run_with_one_evaluation_at_a_time() {
    let plugins = example("py", "python", &format!("config = {OPEN}"));
    // Lands in the `[policy]` table that `start` opens.
    let sluice = start(&format!("max_concurrent_evaluations = 1\n{plugins}")).await;
    let body = ok(&sluice, "app", "SELECT id FROM t LIMIT 5").await;
    assert_eq!(body["row_count"], 0);
}
