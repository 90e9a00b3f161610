//! The `sluice` binary itself: `check` and `key`.

use std::process::Command;

use crate::harness::TempDir;

fn sluice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
}

#[test]
fn check_reports_a_valid_configuration_and_reachable_datasources() {
    let dir = TempDir::new();
    crate::quickstart::copy_quickstart(dir.path());
    let output = sluice().args(["check", "--config"]).arg(dir.path().join("sluice.toml")).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("configuration is valid"), "{stdout}");
    assert!(stdout.contains("datasource app (sqlite): reachable"), "{stdout}");
}

#[test]
fn check_lists_every_problem_and_fails() {
    let dir = TempDir::new();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[server]\nlisten = \"nope\"\n[datasources.a]\nkind = \"oracle\"\n").unwrap();
    let output = sluice().args(["check", "--config"]).arg(&path).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in ["bad.toml", "server.listen", "datasources.a.kind", "auth"] {
        assert!(stderr.contains(expected), "{expected} in {stderr}");
    }
}

#[test]
fn check_fails_when_a_datasource_is_unreachable() {
    let dir = TempDir::new();
    let path = dir.path().join("s.toml");
    let toml = format!(
        "{}\n[datasources.app]\nkind = \"postgres\"\nurl = \"postgres://postgres@127.0.0.1:1/x\"\nconnect_timeout_ms = 300\n",
        crate::harness::base_toml()
    );
    std::fs::write(&path, toml).unwrap();
    let output = sluice().args(["check", "--config"]).arg(&path).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("datasource app (postgres): UNREACHABLE"));
}

#[test]
fn key_generate_prints_a_key_and_its_configuration_hash() {
    let output = sluice().args(["key", "generate"]).output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let key = stdout.lines().find_map(|l| l.strip_prefix("key:")).unwrap().trim();
    let hash = stdout.lines().find_map(|l| l.strip_prefix("hash:")).unwrap().trim();
    assert!(key.starts_with("sk_") && key.len() > 40, "{key}");
    assert_eq!(hash, sluice_core::auth::hash_api_key(key));
}
