//! The audit log in a real PostgreSQL (`SLUICE_TEST_PG_URL`, by default the local
//! `sluice_test` database), each test in a schema of its own: records in order, reopening,
//! one writer per chain, tampering found by the file's verifier, and a lost connection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_postgres::{Client, NoTls};

use super::super::{
    AuditEntry, AuditError, AuditEvent, AuditLog, AuditSettings, AuditStore, FindingKind, VerifyOptions,
    VerifyReport, read_signing_key, store_chains, verify_store,
};

/// A schema private to one test, dropped by [`Schema::drop`].
struct Schema {
    name: String,
    admin: Client,
    url: String,
    dir: PathBuf,
}

impl Schema {
    async fn new() -> Schema {
        let base = std::env::var("SLUICE_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/sluice_test".into());
        let (admin, connection) = tokio_postgres::connect(&base, NoTls).await.expect("connect to PostgreSQL");
        tokio::spawn(connection);
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        admin.batch_execute(&format!("CREATE SCHEMA {name}")).await.unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{name}");
        let dir = std::env::temp_dir().join(format!("sluice-audit-pg-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        Schema { name, admin, url, dir }
    }

    fn settings(&self, chain: &str) -> AuditSettings {
        AuditSettings::with_store(
            AuditStore::Postgres { url: self.url.clone(), chain: chain.to_owned() },
            self.dir.join("audit.key"),
        )
    }

    /// `(seq, line)` of `table`'s rows of `chain`, in seq order.
    async fn rows(&self, table: &str, chain: &str) -> Vec<(i64, String)> {
        let sql = format!("SELECT seq, line FROM {}.{table} WHERE chain = $1 ORDER BY seq", self.name);
        self.admin.query(&sql, &[&chain]).await.unwrap().iter().map(|r| (r.get(0), r.get(1))).collect()
    }

    async fn execute(&self, sql: &str) {
        self.admin.batch_execute(&format!("SET search_path = {}; {sql}", self.name)).await.unwrap();
    }

    async fn verify(&self, chain: &str) -> Result<VerifyReport, AuditError> {
        let (url, chain) = (self.url.clone(), chain.to_owned());
        let options = VerifyOptions {
            public_keys: vec![read_signing_key(&self.dir.join("audit.key")).unwrap().public_key().clone()],
            checkpoint: None,
        };
        // It runs a runtime of its own: not on this one's thread.
        tokio::task::spawn_blocking(move || verify_store(&url, &chain, &options)).await.unwrap()
    }

    async fn drop(self) {
        self.admin.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name)).await.unwrap();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn entry(i: u64) -> AuditEntry {
    let mut entry = AuditEntry::new(AuditEvent::Allowed, format!("trace-{i}"));
    entry.principal = Some(format!("user-{i}"));
    entry.datasource = Some("app".into());
    entry
}

async fn write(settings: &AuditSettings, records: std::ops::RangeInclusive<u64>) {
    let log = AuditLog::open(settings, None).unwrap();
    for i in records {
        assert_eq!(log.append(entry(i)).await.unwrap(), i);
    }
    log.close().await;
}

#[tokio::test]
async fn records_land_in_order_verify_and_the_chain_continues_on_reopening() {
    let schema = Schema::new().await;
    let settings = AuditSettings { checkpoint_every: 10, ..schema.settings("replica-1") };
    write(&settings, 1..=25).await;
    let records = schema.rows("sluice_audit_records", "replica-1").await;
    assert_eq!(records.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), (1..=25).collect::<Vec<_>>());
    for (seq, line) in &records {
        let value: Value = serde_json::from_str(line).unwrap();
        assert_eq!(value["seq"].as_i64(), Some(*seq), "{line}");
        assert_eq!(value["trace_id"], format!("trace-{seq}"));
        assert!(line.starts_with("{\"seq\":") && !line.ends_with('\n'), "the file's line: {line}");
    }
    let checkpoints = schema.rows("sluice_audit_checkpoints", "replica-1").await;
    assert_eq!(checkpoints.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), [10, 20, 25]);
    assert!(checkpoints[0].1.starts_with("{\"checkpoint\":{\"seq\":10,"), "{}", checkpoints[0].1);
    let report = schema.verify("replica-1").await.unwrap();
    assert_eq!((report.records, report.checkpoints, report.last_seq), (25, 3, 25));
    assert!(report.signatures_checked);

    // Reopened, it continues the chain; another chain in the same tables starts its own.
    write(&settings, 26..=27).await;
    write(&schema.settings("replica-2"), 1..=2).await;
    let report = schema.verify("replica-1").await.unwrap();
    assert_eq!((report.records, report.checkpoints, report.last_seq), (27, 4, 27));
    assert_eq!(schema.verify("replica-2").await.unwrap().last_seq, 2);
    let url = schema.url.clone();
    let chains = tokio::task::spawn_blocking(move || store_chains(&url)).await.unwrap().unwrap();
    assert_eq!(chains, ["replica-1", "replica-2"]);
    schema.drop().await;
}

#[tokio::test]
async fn a_second_writer_of_a_chain_is_refused() {
    let schema = Schema::new().await;
    let settings = schema.settings("one");
    let log = AuditLog::open(&settings, None).unwrap();
    let err = AuditLog::open(&settings, None).unwrap_err();
    assert!(matches!(err, AuditError::Store { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("chain \"one\"") && message.contains("another Sluice process writes this chain")
    );
    assert!(!message.contains("postgres://"), "the URL is never printed: {message}");
    // Another chain is another writer's.
    let other = AuditLog::open(&schema.settings("two"), None).unwrap();
    other.close().await;
    log.close().await;
    // Closed, the chain is free at once.
    AuditLog::open(&settings, None).unwrap().close().await;
    schema.drop().await;
}

#[tokio::test]
async fn an_edited_or_deleted_row_is_found_and_a_broken_end_is_not_continued() {
    let schema = Schema::new().await;
    for chain in ["edited", "deleted", "end"] {
        write(&schema.settings(chain), 1..=10).await;
    }
    schema
        .execute(
            "UPDATE sluice_audit_records SET line = replace(line, '\"user-4\"', '\"mallory\"') \
             WHERE chain = 'edited' AND seq = 4;
             DELETE FROM sluice_audit_records WHERE chain = 'deleted' AND seq = 6;
             UPDATE sluice_audit_records SET line = replace(line, '\"user-10\"', '\"mallory\"') \
             WHERE chain = 'end' AND seq = 10;",
        )
        .await;
    let finding = |result: Result<VerifyReport, AuditError>| match result {
        Err(AuditError::InvalidChain { finding, .. }) => finding,
        other => panic!("expected a finding, got {other:?}"),
    };
    let edited = finding(schema.verify("edited").await);
    assert_eq!((edited.kind, edited.seq, edited.line), (FindingKind::Edited, Some(4), 4));
    assert!(edited.message.contains("the record was edited"), "{}", edited.message);
    let deleted = finding(schema.verify("deleted").await);
    assert_eq!((deleted.kind, deleted.seq), (FindingKind::Deleted, Some(7)));
    assert!(deleted.message.contains("seq 7 where seq 6 was expected"), "{}", deleted.message);
    let err = AuditLog::open(&schema.settings("end"), None).unwrap_err().to_string();
    assert!(err.contains("does not verify, so it is not continued") && err.contains("seq 10"), "{err}");
    schema.drop().await;
}

/// The writer's backends for `chain` (its connection names itself after the chain).
async fn backend(admin: &Client, chain: &str) -> Vec<i32> {
    let sql = "SELECT pid FROM pg_stat_activity WHERE application_name = $1";
    admin.query(sql, &[&format!("sluice audit {chain}")]).await.unwrap().iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn a_lost_connection_refuses_appends_until_the_writer_reconnects() {
    let schema = Schema::new().await;
    let chain = format!("lost-{}", &schema.name[2..10]);
    let settings = schema.settings(&chain);
    let log = AuditLog::open(&settings, None).unwrap();
    for i in 1..=3 {
        assert_eq!(log.append(entry(i)).await.unwrap(), i);
    }
    let pids = backend(&schema.admin, &chain).await;
    assert_eq!(pids.len(), 1, "{pids:?}");
    schema.admin.execute("SELECT pg_terminate_backend($1)", &[&pids[0]]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !backend(&schema.admin, &chain).await.is_empty() {
        assert!(Instant::now() < deadline, "the backend did not end");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The connection is gone: the record is refused, as `fail_closed` needs.
    match log.append(entry(4)).await {
        Err(AuditError::Unavailable(message)) => assert!(message.contains("PostgreSQL"), "{message}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // The writer reconnects (at most once a second) and takes its lock again.
    let mut refused = 1;
    let seq = loop {
        match log.append(entry(5)).await {
            Ok(seq) => break seq,
            Err(AuditError::Unavailable(_)) => refused += 1,
            Err(other) => panic!("{other:?}"),
        }
        assert!(Instant::now() < deadline, "the writer did not reconnect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(seq, 4, "refused records ({refused}) are not part of the chain");
    assert_eq!(log.append(entry(6)).await.unwrap(), 5);
    let pids_after = backend(&schema.admin, &chain).await;
    assert!(pids_after.len() == 1 && pids_after != pids, "{pids_after:?}");
    let err = AuditLog::open(&settings, None).unwrap_err().to_string();
    assert!(err.contains("another Sluice process writes this chain"), "the lock is held again: {err}");
    log.close().await;
    let report = schema.verify(&chain).await.unwrap();
    assert_eq!((report.records, report.last_seq), (5, 5));
    schema.drop().await;
}
