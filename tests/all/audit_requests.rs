//! The audit log as requests write it: every statement, run or refused, leaves its records at
//! the gateway's single exit; a statement runs only once its `allowed` record is written; and
//! with `fail_closed`, a log that cannot be written stops statements (503) instead of letting
//! them run unrecorded.

use std::path::Path;

use serde_json::{Value, json};
use sluice_core::audit::log::{VerifyOptions, verify_file};

use crate::harness::{KEY, PgSchema, Process, SQLITE, Sluice, TempDir, assert_error, base_toml};

/// The records of the log at `path`, checkpoints left out.
fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line.get("checkpoint").is_none())
        .collect()
}

#[tokio::test]
async fn every_statement_leaves_its_records_and_the_log_verifies() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("init.sql"), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n")
        .unwrap();
    let toml = format!("{}\n[datasources.app]\n{SQLITE}\n[audit]\npath = \"audit.jsonl\"\n", base_toml());
    let sluice = Sluice::start(&toml, dir.path()).await;

    let ran = sluice
        .ok("SELECT v FROM t WHERE v <> 'literal-kept-out' AND id = ?", json!(["param-kept-out"]))
        .await;
    let (status, parse) = sluice.query("SELEC nonsense", json!([])).await;
    assert_error(status, &parse, "sql_parse_error");
    // Runs, and fails in the database (SQLite's integer overflow).
    let (status, failed) = sluice.query("SELECT abs(-9223372036854775808) AS x", json!([])).await;
    assert_error(status, &failed, "upstream_error");
    drop(sluice);

    let log = dir.path().join("audit.jsonl");
    let lines = records(&log);
    let events: Vec<&str> = lines.iter().map(|r| r["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["allowed", "completed", "refused", "allowed", "completed"], "{lines:#?}");
    let (allowed, completed) = (&lines[0], &lines[1]);
    assert_eq!(allowed["trace_id"], ran["trace_id"]);
    assert_eq!(allowed["principal"], "tester");
    assert_eq!(allowed["datasource"], "app");
    assert_eq!(allowed["kind"], "read");
    assert_eq!(allowed["summary"], "SELECT t");
    assert_eq!(allowed["fingerprint"].as_str().map(str::len), Some(64));
    assert!(allowed.get("outcome").is_none(), "an allowed record is written before the outcome is known");
    assert_eq!(completed["outcome"], "ok");
    assert_eq!(completed["rows"], 0);
    assert_eq!(lines[2]["outcome"], "sql_parse_error");
    assert_eq!(lines[2]["trace_id"], parse["error"]["trace_id"]);
    assert_eq!(lines[4]["outcome"], "upstream_error");
    let seqs: Vec<u64> = lines.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);

    let text = std::fs::read_to_string(&log).unwrap();
    for secret in ["literal-kept-out", "param-kept-out", "nonsense", KEY, "SELECT v"] {
        assert!(!text.contains(secret), "{secret} reached the audit log");
    }
    let report = verify_file(&log, &VerifyOptions::default()).unwrap();
    assert_eq!(report.records, 5);
}

#[tokio::test]
async fn policy_verdicts_masks_and_filters_are_recorded() {
    let dir = TempDir::new();
    crate::quickstart::copy_quickstart(dir.path());
    // The quickstart's configuration keeps an audit log: `quickstart-audit.jsonl`.
    let toml = std::fs::read_to_string(dir.path().join("sluice.toml")).unwrap();
    let sluice = Sluice::start(&toml, dir.path()).await;
    let (status, body) = sluice
        .call(
            "POST",
            "/v1/query",
            crate::quickstart::QUICKSTART_KEY,
            Some(json!({"datasource": "app", "sql": "SELECT id, email FROM customers"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = sluice
        .call(
            "POST",
            "/v1/query",
            crate::quickstart::QUICKSTART_KEY,
            Some(json!({"datasource": "app", "sql": "DELETE FROM customers"})),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    drop(sluice);

    let lines = records(&dir.path().join("quickstart-audit.jsonl"));
    let completed = &lines[1];
    assert_eq!(completed["verdict"], "allow");
    assert_eq!(
        completed["verdicts"],
        json!([
            {"plugin": "guardrails", "verdict": "allow"},
            {"plugin": "tenant-isolation", "verdict": "allow"},
            {"plugin": "pii-mask", "verdict": "allow"},
        ])
    );
    assert_eq!(completed["filters"], json!(["customers"]));
    let masks = completed["masks"].as_array().unwrap();
    assert!(masks.contains(&json!("customers.email:email")), "{masks:?}");
    let refused = &lines[2];
    assert_eq!(refused["event"], "refused");
    assert_eq!(refused["outcome"], "policy_denied");
    assert_eq!(refused["denied_by"], json!(["guardrails"]));
    assert!(refused.get("masks").is_none(), "nothing was rewritten for a denied statement");
}

/// A log that stops taking writes (a file-size limit, which the kernel enforces with `EFBIG`
/// even for root): statements answer `503 unavailable` and do not run; every statement that
/// did run has its `allowed` record, and what was written still verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_that_cannot_be_written_refuses_statements() {
    let data = PgSchema::new("CREATE TABLE t (id serial PRIMARY KEY, v text)").await;
    let dir = TempDir::new();
    let toml = format!(
        "{}\n[datasources.app]\n{}\n[audit]\npath = \"audit.jsonl\"\n",
        base_toml(),
        data.datasource("")
    );
    // 16 KiB of file for this process; SIGXFSZ ignored so that the write fails instead.
    let sluice = Process::serve_in(dir.path(), &toml, "trap '' XFSZ\nulimit -f 16").await;
    let (mut ran, mut refused) = (0, 0);
    for i in 0..200 {
        let body = json!({"datasource": "app", "sql": format!("INSERT INTO t (v) VALUES ('row {i}')")});
        let (status, answer) = sluice.call("/v1/query", KEY, body).await;
        match status.as_u16() {
            200 => ran += 1,
            503 => {
                assert_eq!(answer["error"]["code"], "unavailable", "{answer}");
                let message = answer["error"]["message"].as_str().unwrap();
                assert!(message.contains("audit log"), "{message}");
                assert!(!message.contains("audit.jsonl"), "file names are logged, not shown: {message}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {answer}"),
        }
    }
    assert!(ran > 0 && refused > 0, "ran {ran}, refused {refused}");
    let rows: i64 =
        data.client.query_one(&format!("SELECT count(*) FROM {}.t", data.name), &[]).await.unwrap().get(0);
    assert_eq!(rows, ran, "exactly the statements answered 200 ran");
    drop(sluice);

    let log = dir.path().join("audit.jsonl");
    let lines = records(&log);
    let allowed = lines.iter().filter(|r| r["event"] == "allowed").count();
    assert_eq!(allowed as i64, ran, "every statement that ran has its allowed record");
    let report = verify_file(&log, &VerifyOptions::default()).unwrap();
    assert_eq!(report.records as usize, lines.len());
}
