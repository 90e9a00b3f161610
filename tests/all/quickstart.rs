//! The quickstart configuration, as shipped, on a fresh copy of its SQLite database.

use serde_json::json;

use crate::harness::{Sluice, TempDir, repo};

/// Copies the shipped quickstart folder (configuration, SQL, prebuilt plugins) into `dir`,
/// without any database a local run left there.
pub fn copy_quickstart(dir: &std::path::Path) {
    let src = repo().join("examples/quickstart");
    for file in ["sluice.toml", "schema.sql", "seed.sql"] {
        std::fs::copy(src.join(file), dir.join(file)).unwrap();
    }
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    for plugin in ["guardrails", "tenant-isolation", "pii-mask"] {
        let file = format!("plugins/{plugin}.wasm");
        std::fs::copy(src.join(&file), dir.join(&file)).unwrap();
    }
}

/// Starts the shipped quickstart configuration in a temporary copy of its folder.
pub async fn quickstart() -> (Sluice, TempDir) {
    let dir = TempDir::new();
    copy_quickstart(dir.path());
    let toml = std::fs::read_to_string(dir.path().join("sluice.toml")).unwrap();
    (Sluice::start(&toml, dir.path()).await, dir)
}

pub const QUICKSTART_KEY: &str = "sk_quickstart_do_not_use_in_production";
/// The quickstart's second person, who approves.
pub const APPROVER_KEY: &str = "sk_quickstart_approver_do_not_use_in_production";

#[tokio::test]
async fn quickstart_database_is_bootstrapped_and_typed() {
    let (sluice, _dir) = quickstart().await;
    let body = json!({"datasource": "app", "sql": "SELECT id, name, created_at FROM customers WHERE tenant_id = ? ORDER BY id", "params": [1]});
    let (status, body) = sluice.post(Some(QUICKSTART_KEY), body.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["row_count"], 2);
    assert_eq!(body["columns"][0], json!({"name": "id", "type": "int8", "masked": false}));
    assert_eq!(body["rows"][0], json!(["1", "Jane Doe", "2024-01-15 09:30:00"]));
    assert_eq!(body["command"], "SELECT");
    assert_eq!(body["truncated"], false);
    assert_eq!(body["rows_affected"], json!(null));
}

/// The README's quickstart walk-through, step by step, with the outcomes it states.
#[tokio::test]
async fn the_quickstart_shows_filters_masks_guardrails_and_an_approval() {
    let (sluice, _dir) = quickstart().await;
    let post = |key: &'static str, body: serde_json::Value| {
        let sluice = &sluice;
        async move { sluice.post(Some(key), body.to_string()).await }
    };
    // Row filter: another tenant's rows are invisible, even when asked for by name.
    let (status, body) = post(
        QUICKSTART_KEY,
        json!({"datasource": "app", "sql": "SELECT name FROM customers WHERE tenant_id = 2"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["row_count"], 0);
    // Masks.
    let (_, body) = post(
        QUICKSTART_KEY,
        json!({"datasource": "app", "sql": "SELECT name, email, ssn FROM customers ORDER BY id"}),
    )
    .await;
    assert_eq!(body["rows"][0], json!(["Jane Doe", "j***@acme.example", "*******6789"]), "{body}");
    assert_eq!(body["columns"][2]["mask"], "last-four");
    // Guardrails.
    let (status, body) =
        post(QUICKSTART_KEY, json!({"datasource": "app", "sql": "DELETE FROM customers"})).await;
    crate::harness::assert_error(status, &body, "policy_denied");
    assert!(body["error"]["message"].as_str().unwrap().contains("guardrails"), "{body}");
    // Approval: held, approved by the second person, run once.
    let delete = json!({"datasource": "app", "sql": "DELETE FROM orders WHERE id = 3", "justification": "refund processed twice"});
    let (status, body) = post(QUICKSTART_KEY, delete.clone()).await;
    crate::harness::assert_error(status, &body, "approval_required");
    let id = body["approval"]["request"]["id"].as_str().unwrap().to_string();
    let approve = format!("/v1/access-requests/{id}/approve");
    let (status, _) = sluice.call("POST", &approve, QUICKSTART_KEY, None).await;
    assert_eq!(status, 403, "not by the requester");
    let (status, body) =
        sluice.call("POST", &approve, APPROVER_KEY, Some(json!({"comment": "checked"}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "approved");
    let (status, body) = post(QUICKSTART_KEY, delete.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows_affected"], 1);
    let (status, body) = post(QUICKSTART_KEY, delete).await;
    crate::harness::assert_error(status, &body, "conflict");
}

#[tokio::test]
async fn quickstart_restart_keeps_data_and_does_not_rerun_bootstrap() {
    let (sluice, dir) = quickstart().await;
    let insert = json!({"datasource": "app", "sql": "INSERT INTO tenants (id, name) VALUES (?, ?)", "params": [3, "Initech"]});
    let (status, body) = sluice.post(Some(QUICKSTART_KEY), insert.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows_affected"], 1);
    drop(sluice);
    let toml = std::fs::read_to_string(dir.path().join("sluice.toml")).unwrap();
    let again = Sluice::start(&toml, dir.path()).await;
    let count = json!({"datasource": "app", "sql": "SELECT count(*) AS n FROM tenants"});
    let (status, body) = again.post(Some(QUICKSTART_KEY), count.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"][0][0], "3");
}

#[tokio::test]
async fn sqlite_values_round_trip_exactly() {
    let sluice = Sluice::with_datasource("kind = \"sqlite\"\npath = \"t.db\"\nbootstrap = [\"init.sql\"]\nstatements = [\"read\", \"insert\", \"ddl\"]").await;
    sluice.ok("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n NUMERIC, ok BOOLEAN)", json!([])).await;
    sluice
        .ok(
            "INSERT INTO t VALUES (?, ?, ?, X'00FF10', ?, ?), (NULL, NULL, NULL, NULL, NULL, NULL)",
            json!([i64::MAX, 0.1, "héllo \u{1F600} 'q' \\", "12.50", true]),
        )
        .await;
    let body = sluice.ok("SELECT i, r, s, b, n, ok FROM t ORDER BY i IS NULL", json!([])).await;
    let types: Vec<_> = body["columns"].as_array().unwrap().iter().map(|c| c["type"].clone()).collect();
    assert_eq!(
        types,
        vec![json!("int8"), json!("float8"), json!("text"), json!("bytes"), json!("numeric"), json!("bool")]
    );
    // NUMERIC affinity: SQLite itself stores '12.50' as the number 12.5.
    assert_eq!(
        body["rows"][0],
        json!(["9223372036854775807", 0.1, "héllo \u{1F600} 'q' \\", "AP8Q", "12.5", true])
    );
    assert_eq!(body["rows"][1], json!([null, null, null, null, null, null]));
}

/// The quickstart's prebuilt plugins are what the sources build today, when built by the
/// toolchain they were built with (named in their README): a plugin change must refresh them.
#[test]
fn the_quickstart_plugins_are_current() {
    let src = repo().join("examples/quickstart/plugins");
    let readme = std::fs::read_to_string(src.join("README.md")).unwrap();
    let built_with = readme.lines().find_map(|l| l.strip_prefix("Built with: ")).unwrap().trim().to_string();
    let output = std::process::Command::new("rustc").arg("-V").output().unwrap();
    let rustc = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if rustc != built_with {
        eprintln!("skipped: the quickstart plugins were built with {built_with}, this is {rustc}");
        return;
    }
    for plugin in ["guardrails", "tenant-isolation", "pii-mask"] {
        let shipped = std::fs::read(src.join(format!("{plugin}.wasm"))).unwrap();
        let built = std::fs::read(crate::harness::plugin(plugin)).unwrap();
        assert!(
            shipped == built,
            "examples/quickstart/plugins/{plugin}.wasm differs from plugins/dist: refresh it (see its README)"
        );
    }
}
