//! The audit log end to end: 100,000 records written through `AuditLog`, then `sluice audit
//! verify` on the log and on tampered copies, each kind of tampering with its own message.
//! Hashes for the forgeries are recomputed here from the README's formula, independently of
//! the code under test, so a passing rewrite also checks that the formula is what is written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use sluice_core::audit::log::{AuditEntry, AuditEvent, AuditLog, AuditSettings, PluginVerdict};

use crate::harness::TempDir;

const RECORDS: u64 = 100_000;

fn sluice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
}

/// The log every test reads (and copies before tampering): written once per test process.
struct Fixture {
    dir: PathBuf,
    log: PathBuf,
    public_key: String,
    /// The last checkpoint line, as a verifier would keep it off the machine.
    checkpoint: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // A static is never dropped, so each run removes what earlier runs (no longer alive)
        // left behind; the target directory rather than /tmp, where this would be forgotten.
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
        for old in std::fs::read_dir(root).into_iter().flatten().flatten() {
            let name = old.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("audit-")
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(old.path());
            }
        }
        let dir = root.join(format!("audit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let settings = AuditSettings::new(dir.join("audit.jsonl"), dir.join("audit.key"));
        let started = Instant::now();
        // A runtime of its own: the tests calling this are plain #[test]s on libtest threads.
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let public_key = runtime.block_on(write(&settings, RECORDS));
        eprintln!("audit fixture: {RECORDS} records written in {:?}", started.elapsed());
        let text = std::fs::read_to_string(settings.file().unwrap()).unwrap();
        let checkpoint = text.lines().rfind(|l| l.starts_with("{\"checkpoint\"")).unwrap().to_owned();
        Fixture { dir, log: settings.file().unwrap().to_path_buf(), public_key, checkpoint }
    })
}

fn entry(i: u64) -> AuditEntry {
    let event = match i % 3 {
        0 => AuditEvent::Allowed,
        1 => AuditEvent::Completed,
        _ => AuditEvent::Refused,
    };
    let mut entry = AuditEntry::new(event, format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    entry.principal = Some(format!("service-{}", i % 13));
    entry.datasource = Some("app".into());
    entry.kind = Some("read".into());
    entry.fingerprint = Some(format!("{:064x}", i % 101));
    entry.summary = Some("SELECT accounts".into());
    entry.verdicts = vec![
        PluginVerdict { plugin: "guardrails".into(), verdict: "allow".into() },
        PluginVerdict { plugin: "tenant-isolation".into(), verdict: "allow".into() },
    ];
    entry.verdict = Some("allow".into());
    entry.masks = vec!["public.accounts.email:email".into()];
    entry.filters = vec!["public.accounts".into()];
    match event {
        AuditEvent::Completed => {
            entry.outcome = Some("ok".into());
            entry.rows = Some(i % 50);
            entry.duration_ms = Some((i % 977) as f64 / 13.0);
        }
        AuditEvent::Refused => entry.outcome = Some("policy_denied".into()),
        AuditEvent::Allowed => {}
    }
    entry
}

/// Writes `records` records from 64 concurrent callers; returns the public key.
async fn write(settings: &AuditSettings, records: u64) -> String {
    let log = AuditLog::open(settings, None).unwrap();
    let callers = 64;
    let tasks: Vec<_> = (0..callers)
        .map(|c| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in (c..records).step_by(callers as usize) {
                    log.append(entry(i)).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    log.close().await;
    log.public_key().to_string()
}

fn verify(log: &Path, args: &[&str]) -> Output {
    sluice().args(["audit", "verify", "--log"]).arg(log).args(args).output().unwrap()
}

/// Runs verify; asserts it failed with exit code 1 and a message holding each of `expected`.
fn assert_refused(log: &Path, args: &[&str], expected: &[&str]) {
    let output = verify(log, args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    for text in expected {
        assert!(stderr.contains(text), "{text:?} not in: {stderr}");
    }
}

fn stdout_of(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// A file removed when dropped: each tampered copy is as large as the log.
struct Copy(PathBuf);

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl AsRef<Path> for Copy {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl std::ops::Deref for Copy {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

/// A copy of the fixture's log with its lines changed by `change`.
fn tampered(name: &str, change: impl FnOnce(&mut Vec<String>)) -> Copy {
    let fixture = fixture();
    let mut lines: Vec<String> =
        std::fs::read_to_string(&fixture.log).unwrap().lines().map(str::to_owned).collect();
    change(&mut lines);
    let path = fixture.dir.join(format!("{name}.jsonl"));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    Copy(path)
}

/// The index of record `seq`'s line.
fn index_of(lines: &[String], seq: u64) -> usize {
    let prefix = format!("{{\"seq\":{seq},");
    lines.iter().position(|l| l.starts_with(&prefix)).unwrap()
}

/// `SHA-256("sluice-audit-v1\0" || prev || canonical)`, canonical being the line's object
/// without `hash`, keys sorted, compact: serde_json's `Value` keeps keys sorted.
fn chain_hash(prev: &[u8; 32], record: &mut Value) -> [u8; 32] {
    record.as_object_mut().unwrap().remove("hash");
    let mut hasher = Sha256::new();
    hasher.update(b"sluice-audit-v1\0");
    hasher.update(prev);
    hasher.update(record.to_string().as_bytes());
    hasher.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fixture's log with record 10's principal changed and every record hash from there
/// recomputed, as someone with write access but no key would do, in three copies: checkpoint
/// lines kept as they were, given the new hashes with their old signatures, or removed.
struct Rewritten {
    kept: Copy,
    rehashed: Copy,
    dropped: Copy,
}

fn rewritten() -> Rewritten {
    let fixture = fixture();
    let text = std::fs::read_to_string(&fixture.log).unwrap();
    let (mut kept, mut rehashed, mut dropped) = (String::new(), String::new(), String::new());
    let mut prev = [0u8; 32];
    for line in text.lines() {
        let mut value: Value = serde_json::from_str(line).unwrap();
        if value.get("checkpoint").is_some() {
            kept.push_str(line);
            kept.push('\n');
            value["checkpoint"]["hash"] = hex(&prev).into();
            rehashed.push_str(&value.to_string());
            rehashed.push('\n');
            continue;
        }
        if value["seq"] == 10 {
            value["principal"] = "mallory".into();
        }
        let hash = chain_hash(&prev, &mut value);
        value["hash"] = hex(&hash).into();
        prev = hash;
        let line = value.to_string();
        for out in [&mut kept, &mut rehashed, &mut dropped] {
            out.push_str(&line);
            out.push('\n');
        }
    }
    let write = |name: &str, text: String| {
        let path = fixture.dir.join(format!("{name}.jsonl"));
        std::fs::write(&path, text).unwrap();
        Copy(path)
    };
    Rewritten {
        kept: write("rewritten-kept", kept),
        rehashed: write("rewritten-rehashed", rehashed),
        dropped: write("rewritten-dropped", dropped),
    }
}

#[test]
fn audit_verify_accepts_the_untouched_log() {
    let fixture = fixture();
    let text = std::fs::read_to_string(&fixture.log).unwrap();
    let last: Value =
        serde_json::from_str(text.lines().rfind(|l| l.starts_with("{\"seq\"")).unwrap()).unwrap();
    assert_eq!(last["seq"], RECORDS);
    let started = Instant::now();
    let output =
        verify(&fixture.log, &["--public-key", &fixture.public_key, "--checkpoint", &fixture.checkpoint]);
    eprintln!("verify of {RECORDS} records: {:?}", started.elapsed());
    let stdout = stdout_of(&output);
    let expected = format!(
        "ok: {RECORDS} records, 100 checkpoints (all signatures valid), last seq {RECORDS}, last hash {}; the \
         external checkpoint at seq {RECORDS} matches\n",
        last["hash"].as_str().unwrap()
    );
    assert_eq!(stdout, expected);
}

#[test]
fn audit_verify_without_a_key_says_signatures_were_not_checked() {
    let fixture = fixture();
    // The public key from the key file, as an operator would take it.
    let printed = stdout_of(
        &sluice()
            .args(["audit", "public-key", "--signing-key"])
            .arg(fixture.dir.join("audit.key"))
            .output()
            .unwrap(),
    );
    assert_eq!(printed.trim(), fixture.public_key);
    // The first 2000 records and their 2 checkpoints (a full walk is the test above).
    let head = tampered("head", |lines| lines.truncate(2002));
    let stdout = stdout_of(&verify(&head, &[]));
    let expected =
        "ok: 2000 records, 2 checkpoints, checkpoint signatures not checked (no --public-key), last seq 2000";
    assert!(stdout.starts_with(expected), "{stdout}");
}

#[test]
fn audit_verify_finds_an_edited_record() {
    let log = tampered("edited", |lines| {
        let i = index_of(lines, 1500);
        lines[i] = lines[i].replace("\"principal\":\"service-", "\"principal\":\"mallory-");
    });
    // Line 1501 is record 1500 (one checkpoint line before it, at line 1001).
    assert_refused(&log, &[], &["edited.jsonl", "line 1501 (seq 1500)", "the record was edited"]);
}

#[test]
fn audit_verify_finds_a_deleted_record() {
    let log = tampered("deleted", |lines| drop(lines.remove(index_of(lines, 1500))));
    assert_refused(
        &log,
        &[],
        &["line 1501 (seq 1501)", "seq 1501 where seq 1500 was expected", "1 record(s) missing", "deleted"],
    );
}

#[test]
fn audit_verify_finds_reordered_records() {
    let log = tampered("swapped", |lines| {
        let i = index_of(lines, 1500);
        lines.swap(i, i + 1);
    });
    assert_refused(
        &log,
        &[],
        &["line 1501 (seq 1501)", "seq 1500 comes later, at line 1502", "out of order"],
    );
}

#[test]
fn audit_verify_finds_a_duplicated_record() {
    let log = tampered("duplicated", |lines| {
        let i = index_of(lines, 1500);
        lines.insert(i + 1, lines[i].clone());
    });
    assert_refused(
        &log,
        &[],
        &["line 1502 (seq 1500)", "duplicate seq 1500 (also at line 1501)", "inserted"],
    );
}

#[test]
fn audit_verify_finds_a_forged_record() {
    // A made-up record in the middle, whose hash the forger could not chain.
    let log = tampered("forged", |lines| {
        let i = index_of(lines, 1500);
        let mut forged: Value = serde_json::from_str(&lines[i]).unwrap();
        forged["principal"] = "mallory".into();
        forged["hash"] = hex(&[0xab; 32]).into();
        lines[i] = forged.to_string();
    });
    assert_refused(
        &log,
        &[],
        &["line 1501 (seq 1500)", "does not chain from seq 1499", "inserted or replaced"],
    );
}

#[test]
fn audit_verify_finds_a_partial_last_line() {
    // The log as it was when record 3000's write was cut short (line 3002, after the
    // checkpoint lines 1001 and 2002).
    let log = tampered("partial", |lines| {
        lines.truncate(3002);
        lines[3001].truncate(40);
    });
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.pop(); // no newline
    std::fs::write(&log, bytes).unwrap();
    assert_refused(&log, &[], &["line 3002: ", "incomplete"]);
}

#[test]
fn audit_verify_finds_a_truncation_against_a_kept_checkpoint() {
    // Cut after record 5,000 and its checkpoint: what is left verifies on its own...
    let log = tampered("truncated", |lines| lines.truncate(5_005));
    let stdout = stdout_of(&verify(&log, &[]));
    assert!(stdout.starts_with("ok: 5000 records, 5 checkpoints"), "{stdout}");
    // ...but not against the checkpoint exported at seq 100,000.
    let fixture = fixture();
    let kept = fixture.dir.join("exported-checkpoint.json");
    std::fs::write(&kept, format!("{}\n", fixture.checkpoint)).unwrap();
    assert_refused(
        &log,
        &["--checkpoint", &format!("@{}", kept.display())],
        &[
            "line 5005 (seq 5000)",
            "ends at seq 5000, before the external checkpoint's seq 100000",
            "truncated",
        ],
    );
}

#[test]
fn audit_verify_finds_a_rewritten_chain() {
    let fixture = fixture();
    let rewritten = rewritten();
    // Hashes recomputed, checkpoints left as signed: the first one after the change disagrees
    // (and records 1 to 999 pass: the formula above is the one the writer uses).
    assert_refused(
        &rewritten.kept,
        &[],
        &["line 1001 (seq 1000)", "were rewritten after the checkpoint was signed"],
    );
    // Checkpoints given the new hashes: their signatures no longer verify.
    assert_refused(
        &rewritten.rehashed,
        &["--public-key", &fixture.public_key],
        &["line 1001 (seq 1000)", "signature does not verify", "forged or altered"],
    );
    // Checkpoints removed: the file holds nothing signed, but a checkpoint exported earlier
    // (here the one of seq 2000) does not match.
    let exported = std::fs::read_to_string(&fixture.log).unwrap().lines().nth(2001).unwrap().to_owned();
    assert!(exported.contains("\"seq\":2000"), "{exported}");
    assert_refused(
        &rewritten.dropped,
        &["--public-key", &fixture.public_key, "--checkpoint", &exported],
        &["line 2000 (seq 2000)", "differs from the external checkpoint", "the chain was rewritten"],
    );
}

#[test]
fn audit_tail_prints_the_last_records() {
    let fixture = fixture();
    let log = fixture.log.to_str().unwrap();
    let stdout = stdout_of(&sluice().args(["audit", "tail", "--log", log, "-n", "3"]).output().unwrap());
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for (line, seq) in lines.iter().zip(RECORDS - 2..=RECORDS) {
        assert!(line.contains(&format!(" seq={seq} ")), "{line}");
        assert!(
            line.contains("datasource=app kind=read summary=\"SELECT accounts\" verdict=allow"),
            "{line}"
        );
    }
    let json =
        stdout_of(&sluice().args(["audit", "tail", "--log", log, "-n", "2", "--json"]).output().unwrap());
    let text = std::fs::read_to_string(&fixture.log).unwrap();
    let records: Vec<&str> = text.lines().filter(|l| l.starts_with("{\"seq\"")).collect();
    assert_eq!(json, format!("{}\n{}\n", records[records.len() - 2], records[records.len() - 1]));
}

#[test]
fn audit_tail_follows_new_records() {
    let dir = TempDir::new();
    let settings = AuditSettings::new(dir.path().join("audit.jsonl"), dir.path().join("audit.key"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let log = runtime.block_on(async { AuditLog::open(&settings, None).unwrap() });
    runtime.block_on(log.append(entry(1))).unwrap();
    let mut child = sluice()
        .args(["audit", "tail", "--follow", "-n", "5", "--log"])
        .arg(settings.file().unwrap())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(first.contains(" seq=1 "), "{first}");
    runtime.block_on(log.append(entry(2))).unwrap();
    let second = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(second.contains(" seq=2 ") && second.contains("refused"), "{second}");
    child.kill().unwrap();
    child.wait().unwrap();
    runtime.block_on(log.close());
}

#[test]
fn audit_keygen_never_replaces_a_key() {
    let dir = TempDir::new();
    let key = dir.path().join("signing.key");
    let stdout = stdout_of(&sluice().args(["audit", "keygen", "--out"]).arg(&key).output().unwrap());
    let public = stdout.lines().find_map(|l| l.strip_prefix("public key:")).unwrap().trim().to_owned();
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    let before = std::fs::read(&key).unwrap();
    let again = sluice().args(["audit", "keygen", "--out"]).arg(&key).output().unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&key).unwrap(), before);
    let printed =
        stdout_of(&sluice().args(["audit", "public-key", "--signing-key"]).arg(&key).output().unwrap());
    assert_eq!(printed.trim(), public);
    // A malformed key is refused, not replaced.
    std::fs::write(&key, "not a key\n").unwrap();
    let bad = sluice().args(["audit", "public-key", "--signing-key"]).arg(&key).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("malformed"));
}

#[test]
fn audit_configuration_is_validated_and_resolved_against_the_file() {
    let dir = TempDir::new();
    let base =
        format!("{}\n[datasources.app]\nkind = \"sqlite\"\npath = \"app.db\"\n", crate::harness::base_toml());
    let path = dir.path().join("sluice.toml");
    let config = sluice_core::config::parse(&format!("{base}\n[audit]\n"), &path, |_| None).unwrap();
    let audit = config.audit.unwrap();
    assert_eq!(
        audit,
        AuditSettings::new(dir.path().join("sluice-audit.jsonl"), dir.path().join("sluice-audit.key"))
    );
    assert!(
        sluice_core::config::parse(&base, &path, |_| None).unwrap().audit.is_none(),
        "no [audit], no log"
    );

    std::fs::write(dir.path().join("bad.key"), "short\n").unwrap();
    let text = format!(
        "{base}\n[audit]\npath = \"missing/audit.jsonl\"\nsigning_key = \"bad.key\"\ncheckpoint_every = 0\n\
         checkpoint_seconds = 100000\nsnyc = true\n"
    );
    let report = sluice_core::config::parse(&text, &path, |_| None).err().unwrap().to_string();
    assert!(report.contains("snyc"), "unknown keys are refused: {report}");
    let text = text.replace("snyc = true\n", "");
    let report = sluice_core::config::parse(&text, &path, |_| None).err().unwrap().to_string();
    for expected in [
        "audit.path: the directory",
        "audit.signing_key: audit signing key",
        "malformed",
        "audit.checkpoint_every: 0 is out of range 1..=1000000",
        "audit.checkpoint_seconds: 100000 is out of range 1..=86400",
    ] {
        assert!(report.contains(expected), "{expected} in {report}");
    }
}

/// A PostgreSQL store in a schema of this test's own, with `chains` written through
/// `AuditLog` (records 0 to `records - 1`, a checkpoint every 10); returns the store's URL and
/// the public key.
async fn store_with_chains(
    schema: &crate::harness::PgSchema,
    dir: &Path,
    chains: &[&str],
    records: u64,
) -> (String, String) {
    use sluice_core::audit::log::AuditStore;
    let url = format!("{}?options=-csearch_path%3D{}", crate::harness::pg_admin_url(), schema.name);
    let mut public_key = String::new();
    for chain in chains {
        let store = AuditStore::Postgres { url: url.clone(), chain: (*chain).to_owned() };
        let settings =
            AuditSettings { checkpoint_every: 10, ..AuditSettings::with_store(store, dir.join("audit.key")) };
        let log = AuditLog::open(&settings, None).unwrap();
        for i in 0..records {
            log.append(entry(i)).await.unwrap();
        }
        log.close().await;
        public_key = log.public_key().to_string();
    }
    (url, public_key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_and_tail_read_a_postgresql_store() {
    let schema = crate::harness::PgSchema::new("").await;
    let dir = TempDir::new();
    let (url, key) = store_with_chains(&schema, dir.path(), &["replica-a", "replica-b"], 25).await;
    let run = |args: &[&str]| sluice().args(["audit"]).args(args).output().unwrap();

    let one = stdout_of(&run(&["verify", "--store", &url, "--chain", "replica-a", "--public-key", &key]));
    assert!(one.starts_with("ok: 25 records, 3 checkpoints (all signatures valid), last seq 25"), "{one}");
    let all = stdout_of(&run(&["verify", "--store", &url, "--public-key", &key]));
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.len(), 2, "{all}");
    assert!(lines[0].starts_with("chain \"replica-a\": ok: 25 records"), "{all}");
    assert!(lines[1].starts_with("chain \"replica-b\": ok: 25 records"), "{all}");

    let tail = stdout_of(&run(&["tail", "--store", &url, "--chain", "replica-b", "-n", "2"]));
    let seqs: Vec<bool> =
        tail.lines().zip([24, 25]).map(|(line, seq)| line.contains(&format!(" seq={seq} "))).collect();
    assert_eq!(seqs, [true, true], "{tail}");

    // Tampering with SQL shows as it does in a file: an edited line, a deleted row.
    schema
        .client
        .batch_execute(&format!(
            "SET search_path = {0};
             UPDATE sluice_audit_records SET line = replace(line, '\"service-3\"', '\"mallory\"')
             WHERE chain = 'replica-a' AND seq = 4;
             DELETE FROM sluice_audit_records WHERE chain = 'replica-b' AND seq = 12;",
            schema.name
        ))
        .await
        .unwrap();
    let refused = |args: &[&str], expected: &[&str]| {
        let output = run(args);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        for text in expected {
            assert!(stderr.contains(text), "{text:?} not in: {stderr}");
        }
        assert!(!stderr.contains("postgres://"), "the URL is never printed: {stderr}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    refused(
        &["verify", "--store", &url, "--chain", "replica-a"],
        &["chain \"replica-a\"", "line 4 (seq 4)", "the record was edited"],
    );
    // seq 12 is the 13th line: the checkpoint of seq 10 comes before it.
    refused(
        &["verify", "--store", &url, "--chain", "replica-b"],
        &["line 13 (seq 13)", "seq 13 where seq 12 was expected", "deleted"],
    );
    let stdout = refused(&["verify", "--store", &url], &["2 of 2 chains do not verify"]);
    assert!(
        stdout.contains("chain \"replica-a\": FAILED") && stdout.contains("chain \"replica-b\": FAILED"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_writes_its_records_to_the_postgresql_store() {
    let schema =
        crate::harness::PgSchema::new("CREATE TABLE items (id INT); INSERT INTO items VALUES (1), (2);")
            .await;
    let dir = TempDir::new();
    let url = format!("{}?options=-csearch_path%3D{}", crate::harness::pg_admin_url(), schema.name);
    let toml = format!(
        "{}\n[datasources.app]\n{}\n[audit]\nstore = \"{url}\"\nchain = \"gateway-1\"\n",
        crate::harness::base_toml(),
        schema.datasource("")
    );
    let sluice = crate::harness::Sluice::start(&toml, dir.path()).await;
    let body = sluice.ok("SELECT id FROM items ORDER BY id", serde_json::json!([])).await;
    assert_eq!(body["rows"].as_array().map(Vec::len), Some(2), "{body}");
    let rows = schema
        .client
        .query(
            &format!(
                "SELECT seq, line FROM {}.sluice_audit_records WHERE chain = 'gateway-1' ORDER BY seq",
                schema.name
            ),
            &[],
        )
        .await
        .unwrap();
    let records: Vec<Value> = rows.iter().map(|row| serde_json::from_str(row.get(1)).unwrap()).collect();
    let events: Vec<&str> = records.iter().map(|r| r["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["allowed", "completed"], "{records:?}");
    assert_eq!(records[0]["trace_id"], records[1]["trace_id"]);
    assert_eq!(records[1]["outcome"], "ok");
    assert_eq!(records[1]["rows"], 2);
    assert_eq!((rows[0].get::<_, i64>(0), rows[1].get::<_, i64>(0)), (1, 2));

    // The store's connection is cut: with fail_closed, the next statement does not run.
    schema
        .client
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sluice audit gateway-1'",
            &[],
        )
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sluice audit gateway-1'";
        if schema.client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the audit connection did not end");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sluice.err("SELECT id FROM items", serde_json::json!([]), "unavailable").await;
}

#[test]
fn audit_store_configuration_is_validated() {
    let dir = TempDir::new();
    let base =
        format!("{}\n[datasources.app]\nkind = \"sqlite\"\npath = \"app.db\"\n", crate::harness::base_toml());
    let path = dir.path().join("sluice.toml");
    let parse = |extra: &str| sluice_core::config::parse(&format!("{base}\n{extra}"), &path, |_| None);
    let url = "postgres://sluice:s3cret@db.internal:5432/audit";
    let config = parse(&format!("[audit]\nstore = \"{url}\"\nchain = \"replica-1\"\n")).unwrap();
    let audit = config.audit.unwrap();
    assert_eq!(
        audit.store,
        sluice_core::audit::log::AuditStore::Postgres { url: url.into(), chain: "replica-1".into() }
    );
    assert!(!format!("{audit:?}").contains("s3cret"), "Debug hides the password: {audit:?}");
    // By default the chain is the host name.
    let config = parse(&format!("[audit]\nstore = \"{url}\"\n")).unwrap();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_owned();
    match config.audit.unwrap().store {
        sluice_core::audit::log::AuditStore::Postgres { chain, .. } => assert_eq!(chain, hostname),
        other => panic!("{other:?}"),
    }
    // "access": the access store's database, which must be PostgreSQL.
    let config =
        parse(&format!("[access]\nstore = \"{url}\"\n[audit]\nstore = \"access\"\nchain = \"a\"\n")).unwrap();
    assert!(matches!(config.audit.unwrap().store,
        sluice_core::audit::log::AuditStore::Postgres { url: ref u, .. } if u == url));
    for (extra, expected) in [
        (
            "[audit]\nstore = \"access\"\n",
            "audit.store: \"access\" names the [access] store's PostgreSQL database",
        ),
        ("[audit]\npath = \"a.jsonl\"\nstore = \"postgres://x@y/z\"\n", "audit.store: set either audit.path"),
        (
            "[audit]\nstore = \"postgres://u:s3cret@host:notaport/x\"\n",
            "audit.store: not a valid PostgreSQL URL",
        ),
        ("[audit]\nstore = \"mysql://x\"\n", "audit.store: must be a postgres:// URL"),
        (
            "[audit]\nstore = \"postgres://x@y/z\"\nchain = \"\"\n",
            "audit.chain: \"\" is not 1 to 128 printable ASCII",
        ),
        (
            "[audit]\nstore = \"postgres://x@y/z\"\nchain = \"caf\u{e9}\"\n",
            "audit.chain: \"caf\u{e9}\" is not 1 to 128",
        ),
        ("[audit]\nchain = \"a\"\n", "audit.chain: names a chain in a PostgreSQL store"),
    ] {
        let report = parse(extra).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(report.contains(expected), "{expected:?} in {report:?}");
        assert!(!report.contains("s3cret"), "the URL is never echoed: {report}");
    }
}
