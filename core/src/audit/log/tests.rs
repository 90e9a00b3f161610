//! The audit log on real files: chain continuation, group commit, checkpoints, refusals on
//! open, write failures (real ENOSPC from `/dev/full`), and what verification tells apart.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU8;
use std::time::Duration;

use serde_json::Value;

use super::chain::{self, GENESIS, canonical_record, record_hash, to_hex};
use super::writer::testing::{self, FULL, TORN, WORKING};
use super::{
    AuditEntry, AuditError, AuditEvent, AuditLog, AuditSettings, ExternalCheckpoint, FindingKind,
    PluginVerdict, VerifyOptions, read_signing_key, verify_file,
};
use crate::audit::Metrics;

/// A fresh directory, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let path =
            std::env::temp_dir().join(format!("sluice-audit-{name}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    fn settings(&self) -> AuditSettings {
        AuditSettings::new(self.0.join("audit.jsonl"), self.0.join("audit.key"))
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn entry(i: u64) -> AuditEntry {
    let mut entry = AuditEntry::new(
        if i.is_multiple_of(2) { AuditEvent::Allowed } else { AuditEvent::Completed },
        format!("trace-{i}"),
    );
    entry.principal = Some(format!("user-{}", i % 7));
    entry.datasource = Some("app".into());
    entry.kind = Some("read".into());
    entry.summary = Some("SELECT accounts".into());
    entry.verdicts = vec![PluginVerdict { plugin: "guardrails".into(), verdict: "allow".into() }];
    entry.verdict = Some("allow".into());
    if i % 2 == 1 {
        entry.outcome = Some("ok".into());
        entry.rows = Some(i);
        entry.duration_ms = Some(i as f64 / 7.0);
    }
    entry
}

fn options(settings: &AuditSettings) -> VerifyOptions {
    VerifyOptions {
        public_keys: vec![read_signing_key(&settings.signing_key).unwrap().public_key().clone()],
        checkpoint: None,
    }
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn record_seqs(path: &Path) -> Vec<u64> {
    lines(path).iter().filter_map(|v| v.get("seq").and_then(Value::as_u64)).collect()
}

fn checkpoint_seqs(path: &Path) -> Vec<u64> {
    lines(path).iter().filter_map(|v| v.get("checkpoint")).map(|c| c["seq"].as_u64().unwrap()).collect()
}

async fn write_log(settings: &AuditSettings, records: u64) {
    let log = AuditLog::open(settings, None).unwrap();
    for i in 0..records {
        log.append(entry(i)).await.unwrap();
    }
    log.close().await;
}

#[tokio::test]
async fn the_chain_continues_across_reopening() {
    let dir = Dir::new("reopen");
    let settings = dir.settings();
    let log = AuditLog::open(&settings, None).unwrap();
    for expected in 1..=5 {
        assert_eq!(log.append(entry(expected)).await.unwrap(), expected);
    }
    log.close().await;
    assert!(matches!(log.append(entry(0)).await, Err(AuditError::Unavailable(_))), "closed logs refuse");

    let log = AuditLog::open(&settings, None).unwrap();
    for expected in 6..=8 {
        assert_eq!(log.append(entry(expected)).await.unwrap(), expected);
    }
    log.close().await;
    assert_eq!(record_seqs(settings.file().unwrap()), (1..=8).collect::<Vec<_>>());
    // Each close sealed what it wrote.
    assert_eq!(checkpoint_seqs(settings.file().unwrap()), vec![5, 8]);
    let report = verify_file(settings.file().unwrap(), &options(&settings)).unwrap();
    assert_eq!((report.records, report.checkpoints, report.last_seq, report.unsealed), (8, 2, 8, 0));
    assert!(report.signatures_checked);
    // Record 6 chains from record 5, written by the other writer.
    let all = lines(settings.file().unwrap());
    let fifth = all.iter().find(|v| v["seq"] == 5).unwrap();
    let sixth = all.iter().find(|v| v["seq"] == 6).unwrap();
    let prev = chain::from_hex::<32>(fifth["hash"].as_str().unwrap()).unwrap();
    let hash = record_hash(&prev, &canonical_record(sixth.as_object().unwrap()));
    assert_eq!(to_hex(&hash), sixth["hash"].as_str().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_group_committed_in_order() {
    let dir = Dir::new("group");
    let settings = AuditSettings { checkpoint_every: 100, ..dir.settings() };
    let log = AuditLog::open(&settings, None).unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|t| {
            let log = log.clone();
            tokio::spawn(async move {
                let mut seqs = Vec::new();
                for i in 0..40 {
                    seqs.push(log.append(entry(t * 40 + i)).await.unwrap());
                }
                seqs
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for task in tasks {
        let seqs = task.await.unwrap();
        // One caller's records keep their order.
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        acknowledged.extend(seqs);
    }
    log.close().await;
    acknowledged.sort_unstable();
    assert_eq!(acknowledged, (1..=2000).collect::<Vec<_>>(), "every append got its own seq");
    assert_eq!(record_seqs(settings.file().unwrap()), (1..=2000).collect::<Vec<_>>(), "lines in seq order");
    assert_eq!(checkpoint_seqs(settings.file().unwrap()), (1..=20).map(|i| i * 100).collect::<Vec<_>>());
    let report = verify_file(settings.file().unwrap(), &options(&settings)).unwrap();
    assert_eq!((report.records, report.checkpoints), (2000, 20));
}

#[tokio::test]
async fn checkpoints_come_every_n_records_after_a_while_and_at_close() {
    let dir = Dir::new("checkpoints");
    let settings = AuditSettings {
        checkpoint_every: 10,
        checkpoint_interval: Duration::from_millis(100),
        ..dir.settings()
    };
    let metrics = Metrics::new().unwrap();
    let log = AuditLog::open(&settings, Some(&metrics)).unwrap();
    for i in 0..25 {
        log.append(entry(i)).await.unwrap();
    }
    assert_eq!(checkpoint_seqs(settings.file().unwrap()), vec![10, 20]);
    // Each checkpoint line sits right after the record it seals.
    let all = lines(settings.file().unwrap());
    let at = all.iter().position(|v| v.get("checkpoint").is_some()).unwrap();
    assert_eq!(all[at - 1]["seq"], 10);
    assert_eq!(all[at]["checkpoint"]["hash"], all[at - 1]["hash"]);
    // Records 21..=25 are sealed by the timer, without more records or a close.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(checkpoint_seqs(settings.file().unwrap()), vec![10, 20, 25]);
    // Nothing new: no more checkpoints.
    tokio::time::sleep(Duration::from_millis(300)).await;
    log.close().await;
    assert_eq!(checkpoint_seqs(settings.file().unwrap()), vec![10, 20, 25]);
    let rendered = metrics.render();
    assert!(rendered.contains("sluice_audit_records_total 25"), "{rendered}");
    assert!(rendered.contains("sluice_audit_checkpoints_total 3"), "{rendered}");
    assert!(rendered.contains("sluice_audit_write_failures_total 0"), "{rendered}");
    let report = verify_file(settings.file().unwrap(), &options(&settings)).unwrap();
    assert_eq!((report.records, report.checkpoints, report.unsealed), (25, 3, 0));
}

#[tokio::test]
async fn a_partial_last_line_is_refused_on_open() {
    let dir = Dir::new("partial");
    let settings = dir.settings();
    write_log(&settings, 3).await;
    let mut bytes = std::fs::read(settings.file().unwrap()).unwrap();
    bytes.extend_from_slice(br#"{"seq":4,"at":"2024-"#);
    std::fs::write(settings.file().unwrap(), &bytes).unwrap();
    let err = AuditLog::open(&settings, None).unwrap_err().to_string();
    // 3 records and a checkpoint, then the partial fifth line.
    assert!(err.contains("audit.jsonl") && err.contains("line 5 is incomplete"), "{err}");
    assert_eq!(std::fs::read(settings.file().unwrap()).unwrap(), bytes, "the file is left as it was");
}

#[tokio::test]
async fn a_tail_that_does_not_verify_is_refused_on_open() {
    let dir = Dir::new("broken-tail");
    let settings = AuditSettings { checkpoint_every: 1000, ..dir.settings() };
    write_log(&settings, 4).await;
    let text = std::fs::read_to_string(settings.file().unwrap()).unwrap();
    std::fs::write(settings.file().unwrap(), text.replace("\"user-3\"", "\"mallory\"")).unwrap();
    let err = AuditLog::open(&settings, None).unwrap_err().to_string();
    assert!(err.contains("line 4 (seq 4)") && err.contains("edited"), "{err}");
}

#[tokio::test]
async fn a_second_writer_on_the_same_file_is_refused() {
    let dir = Dir::new("lock");
    let settings = dir.settings();
    let log = AuditLog::open(&settings, None).unwrap();
    let err = AuditLog::open(&settings, None).unwrap_err().to_string();
    assert!(err.contains("another writer"), "{err}");
    log.close().await;
}

/// `/dev/full` answers every write with ENOSPC, as a full disk does: a real failure, which
/// also holds for root (unlike a read-only directory).
#[tokio::test]
async fn a_log_on_a_full_device_refuses_every_record() {
    let dir = Dir::new("full");
    let settings = AuditSettings::new("/dev/full", dir.0.join("audit.key"));
    let metrics = Metrics::new().unwrap();
    let log = AuditLog::open(&settings, Some(&metrics)).unwrap();
    for _ in 0..2 {
        match log.append(entry(1)).await {
            Err(AuditError::Unavailable(message)) => assert!(message.contains("/dev/full"), "{message}"),
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
    let rendered = metrics.render();
    assert!(rendered.contains("sluice_audit_write_failures_total 2"), "{rendered}");
    assert!(rendered.contains("sluice_audit_records_total 0"), "{rendered}");
}

#[tokio::test]
async fn after_a_failed_write_the_next_one_continues_the_chain() {
    let dir = Dir::new("recover");
    let settings = dir.settings();
    let mode = Arc::new(AtomicU8::new(WORKING));
    let log = testing::open_flaky(&settings, mode.clone()).unwrap();
    for expected in 1..=3 {
        assert_eq!(log.append(entry(expected)).await.unwrap(), expected);
    }
    let good_length = std::fs::metadata(settings.file().unwrap()).unwrap().len();
    // A torn write: half the line reaches the file, then ENOSPC.
    mode.store(TORN, std::sync::atomic::Ordering::SeqCst);
    assert!(matches!(log.append(entry(4)).await, Err(AuditError::Unavailable(_))));
    assert_eq!(
        std::fs::metadata(settings.file().unwrap()).unwrap().len(),
        good_length,
        "the torn line was cut off"
    );
    // Nothing reaches the file.
    mode.store(FULL, std::sync::atomic::Ordering::SeqCst);
    assert!(matches!(log.append(entry(5)).await, Err(AuditError::Unavailable(_))));
    // The disk has room again: the refused records are not part of the chain.
    mode.store(WORKING, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(log.append(entry(6)).await.unwrap(), 4);
    assert_eq!(log.append(entry(7)).await.unwrap(), 5);
    log.close().await;
    assert_eq!(record_seqs(settings.file().unwrap()), vec![1, 2, 3, 4, 5]);
    let traces: Vec<String> = lines(settings.file().unwrap())
        .iter()
        .filter_map(|v| v["trace_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(traces, ["trace-1", "trace-2", "trace-3", "trace-6", "trace-7"]);
    let report = verify_file(settings.file().unwrap(), &options(&settings)).unwrap();
    assert_eq!((report.records, report.last_seq), (5, 5));
    // And it reopens cleanly.
    let log = AuditLog::open(&settings, None).unwrap();
    assert_eq!(log.append(entry(8)).await.unwrap(), 6);
    log.close().await;
}

#[test]
fn canonical_form_sorts_keys_and_drops_only_the_top_level_hash() {
    let value: Value = serde_json::from_str(
        r#"{"seq":1,"hash":"ab","b":{"z":1,"a":[{"y":2,"hash":"kept"}]},"a":"é\"\n","n":0.5}"#,
    )
    .unwrap();
    let canonical = String::from_utf8(canonical_record(value.as_object().unwrap())).unwrap();
    assert_eq!(canonical, r#"{"a":"é\"\n","b":{"a":[{"hash":"kept","y":2}],"z":1},"n":0.5,"seq":1}"#);
    assert_eq!(record_hash(&GENESIS, b"{}"), {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"sluice-audit-v1\0");
        hasher.update([0u8; 32]);
        hasher.update(b"{}");
        <[u8; 32]>::from(hasher.finalize())
    });
}

/// Every duration written reads back as the number hashed, so verification never fails on
/// a float that parses back one bit off.
#[test]
fn durations_read_back_as_hashed() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut entry = AuditEntry::new(AuditEvent::Completed, "t");
        entry.duration_ms = Some((x % 100_000_000) as f64 / 997.0);
        let encoded =
            chain::encode_record(1, "2024-01-01T00:00:00.000Z", &entry.normalised(), &GENESIS).unwrap();
        let parsed: Value = serde_json::from_slice(&encoded.line).unwrap();
        assert_eq!(record_hash(&GENESIS, &canonical_record(parsed.as_object().unwrap())), encoded.hash);
    }
}

#[test]
fn entries_leave_out_empty_fields() {
    let line = serde_json::to_string(&AuditEntry::new(AuditEvent::Refused, "abc")).unwrap();
    assert_eq!(line, r#"{"event":"refused","trace_id":"abc"}"#);
}

/// A small log, written and closed: 30 records, checkpoints after 10, 20 and 30.
async fn small_log(dir: &Dir) -> AuditSettings {
    let settings = AuditSettings { checkpoint_every: 10, ..dir.settings() };
    write_log(&settings, 30).await;
    settings
}

fn tampered(settings: &AuditSettings, change: impl FnOnce(&mut Vec<String>)) -> FindingKind {
    let mut all: Vec<String> =
        std::fs::read_to_string(settings.file().unwrap()).unwrap().lines().map(str::to_owned).collect();
    change(&mut all);
    let copy = settings.file().unwrap().with_extension("tampered");
    std::fs::write(&copy, all.join("\n") + "\n").unwrap();
    match verify_file(&copy, &options(settings)) {
        Err(AuditError::Invalid { finding, .. }) => finding.kind,
        other => panic!("expected a finding, got {other:?}"),
    }
}

#[tokio::test]
async fn verification_tells_apart_what_was_done() {
    let dir = Dir::new("tamper");
    let settings = small_log(&dir).await;
    assert_eq!(verify_file(settings.file().unwrap(), &options(&settings)).unwrap().records, 30);
    // Line 5 is record 5 (the first checkpoint is line 11).
    let edit = |all: &mut Vec<String>| all[4] = all[4].replace("\"user-4\"", "\"user-0\"");
    assert_eq!(tampered(&settings, edit), FindingKind::Edited);
    assert_eq!(tampered(&settings, |all| drop(all.remove(4))), FindingKind::Deleted);
    assert_eq!(tampered(&settings, |all| all.swap(4, 5)), FindingKind::Reordered);
    assert_eq!(tampered(&settings, |all| all.insert(5, all[4].clone())), FindingKind::Duplicate);
    // A forged record in place of record 5, with a made-up hash.
    let forge = |all: &mut Vec<String>| {
        let mut value: Value = serde_json::from_str(&all[4]).unwrap();
        value["principal"] = "mallory".into();
        value["hash"] = to_hex(&[7u8; 32]).into();
        all[4] = value.to_string();
    };
    assert_eq!(tampered(&settings, forge), FindingKind::Inserted);
    // A checkpoint with another signature.
    let resign = |all: &mut Vec<String>| {
        let other: Value = serde_json::from_str(&all[21]).unwrap();
        let mut value: Value = serde_json::from_str(&all[10]).unwrap();
        value["checkpoint"]["signature"] = other["checkpoint"]["signature"].clone();
        all[10] = value.to_string();
    };
    assert_eq!(tampered(&settings, resign), FindingKind::BadSignature);
    // Duplicate keys: one reader would see one principal, another the other.
    let twice = |all: &mut Vec<String>| all[4] = all[4].replacen('{', "{\"principal\":\"mallory\",", 1);
    assert_eq!(tampered(&settings, twice), FindingKind::Malformed);
    // A rewritten chain: record 3 changed, every later hash recomputed, checkpoints kept.
    let rewrite = |all: &mut Vec<String>| {
        let mut prev = GENESIS;
        for line in all.iter_mut() {
            let mut value: Value = serde_json::from_str(line).unwrap();
            if value.get("checkpoint").is_some() {
                continue;
            }
            if value["seq"] == 3 {
                value["principal"] = "mallory".into();
            }
            let hash = record_hash(&prev, &canonical_record(value.as_object().unwrap()));
            value["hash"] = to_hex(&hash).into();
            prev = hash;
            *line = value.to_string();
        }
    };
    assert_eq!(tampered(&settings, rewrite), FindingKind::CheckpointMismatch);
    assert_eq!(
        tampered(&settings, |all| all.last_mut().unwrap().truncate(20)),
        FindingKind::Malformed,
        "a cut line followed by a newline is not JSON"
    );
}

#[tokio::test]
async fn an_external_checkpoint_catches_truncation() {
    let dir = Dir::new("external");
    let settings = small_log(&dir).await;
    let text = std::fs::read_to_string(settings.file().unwrap()).unwrap();
    let last_checkpoint = text.lines().rfind(|l| l.contains("\"checkpoint\"")).unwrap();
    let checkpoint = ExternalCheckpoint::parse(last_checkpoint).unwrap();
    assert_eq!(checkpoint.seq, 30);
    let with = VerifyOptions { checkpoint: Some(checkpoint), ..options(&settings) };
    assert_eq!(verify_file(settings.file().unwrap(), &with).unwrap().external, Some(30));
    // Cut after record 20's checkpoint: every remaining line verifies.
    let kept: Vec<&str> = text.lines().take(22).collect();
    std::fs::write(settings.file().unwrap(), kept.join("\n") + "\n").unwrap();
    assert_eq!(verify_file(settings.file().unwrap(), &options(&settings)).unwrap().records, 20);
    match verify_file(settings.file().unwrap(), &with) {
        Err(AuditError::Invalid { finding, .. }) => {
            assert_eq!(finding.kind, FindingKind::Truncated, "{finding}")
        }
        other => panic!("expected truncation, got {other:?}"),
    }
}

#[test]
fn external_checkpoints_are_read_from_a_log_line_or_the_exported_event() {
    let hash = "ab".repeat(32);
    let signature = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [1u8; 64]);
    let line = format!(
        r#"{{"checkpoint":{{"seq":7,"hash":"{hash}","at":"x","key_id":"00","signature":"{signature}"}}}}"#
    );
    let exported = format!(
        r#"{{"timestamp":"x","level":"INFO","fields":{{"message":"audit checkpoint","seq":9,"hash":"{hash}","signature":"{signature}","key_id":"00"}},"target":"sluice::audit::checkpoint"}}"#
    );
    assert_eq!(ExternalCheckpoint::parse(&line).unwrap().seq, 7);
    let parsed = ExternalCheckpoint::parse(&exported).unwrap();
    assert_eq!((parsed.seq, parsed.hash, parsed.signature), (9, [0xab; 32], Some([1u8; 64])));
    // Several lines: the latest counts.
    assert_eq!(ExternalCheckpoint::parse(&format!("{exported}\n{line}\n")).unwrap().seq, 9);
    assert!(ExternalCheckpoint::parse("{\"seq\":1}").is_err());
}
