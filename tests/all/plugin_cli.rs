//! `sluice plugin new` and `sluice plugin test`: a scaffold per language is built with the
//! toolchains `plugins/build` installed and passes its own recorded cases; `plugin test`
//! reports failures, load errors and the host's contract message on the committed artifacts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::{TempDir, repo};

fn sluice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Fails with a pointer to `plugins/build` when a toolchain it installs is missing.
fn require(path: &Path) -> PathBuf {
    assert!(path.exists(), "{} is missing: run plugins/build (tests/run does) first", path.display());
    path.to_path_buf()
}

fn plugin_test(wasm: &Path, cases: &Path) -> Output {
    sluice().args(["plugin", "test"]).arg(wasm).arg("--cases").arg(cases).output().unwrap()
}

/// Scaffolds `lang`, builds it with `env`, and runs its recorded cases.
fn scaffold_builds_and_passes(lang: &str, env: &[(&str, PathBuf)]) {
    let dir = TempDir::new();
    let name = format!("test-{lang}");
    let output =
        sluice().args(["plugin", "new", "--lang", lang, &name, "--dir"]).arg(dir.path()).output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let root = dir.path().join(&name);
    for file in ["build.sh", "README.md", "cases.json", "wit/policy.wit"] {
        assert!(root.join(file).is_file(), "{file} in the {lang} scaffold");
    }
    let mut build = Command::new(root.join("build.sh"));
    for (key, value) in env {
        build.env(key, value);
    }
    let output = build.output().unwrap();
    assert!(output.status.success(), "{lang} build.sh: {}", text(&output));
    let output = plugin_test(&root.join(format!("{name}.wasm")), &root.join("cases.json"));
    let out = text(&output);
    assert!(output.status.success(), "{lang}: {out}");
    assert!(out.lines().any(|l| l.ends_with(" passed, 0 failed")), "{lang}: {out}");
    assert!(!out.contains("FAILED"), "{lang}: {out}");
}

#[test]
fn rust_scaffold_builds_and_passes_its_cases() {
    // A shared target dir: the SDK and wit-bindgen compile once, not per test run.
    scaffold_builds_and_passes("rust", &[("CARGO_TARGET_DIR", repo().join("plugins/target/scaffolds"))]);
}

/// The componentize-py `plugins/examples/build` used: its venv's, or the one on `PATH` when that
/// already had the pinned version (the build script then creates no venv).
fn componentize_py() -> PathBuf {
    let venv = repo().join("plugins/examples/python/.venv/bin/componentize-py");
    if venv.exists() {
        return venv;
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("componentize-py"))
        .find(|candidate| candidate.is_file());
    require(&on_path.unwrap_or(venv))
}

#[test]
fn python_scaffold_builds_and_passes_its_cases() {
    let cpy = componentize_py();
    scaffold_builds_and_passes("python", &[("SLUICE_COMPONENTIZE_PY", cpy)]);
}

#[test]
fn js_scaffold_builds_and_passes_its_cases() {
    let cjs = require(&repo().join("plugins/examples/js/node_modules/.bin/componentize-js"));
    scaffold_builds_and_passes("js", &[("SLUICE_COMPONENTIZE_JS", cjs)]);
}

#[test]
fn c_scaffold_builds_and_passes_its_cases() {
    let jco = require(&repo().join("plugins/examples/js/node_modules/.bin/jco"));
    scaffold_builds_and_passes("c", &[("SLUICE_JCO", jco)]);
}

#[test]
fn new_refuses_bad_names_and_non_empty_directories() {
    let dir = TempDir::new();
    let output = sluice()
        .args(["plugin", "new", "--lang", "c", "Bad_Name", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(text(&output).contains("not a valid plugin name"), "{}", text(&output));
    std::fs::create_dir_all(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/keep.txt"), "mine").unwrap();
    let output =
        sluice().args(["plugin", "new", "--lang", "c", "taken", "--dir"]).arg(dir.path()).output().unwrap();
    assert!(!output.status.success());
    assert!(text(&output).contains("not empty"), "{}", text(&output));
    assert_eq!(std::fs::read_to_string(dir.path().join("taken/keep.txt")).unwrap(), "mine");
    let output = sluice()
        .args(["plugin", "new", "--lang", "rust", "no-sdk", "--sdk", "/nonexistent", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(text(&output).contains("--sdk"), "{}", text(&output));
}

#[test]
fn guardrails_passes_its_recorded_cases() {
    let wasm = require(&repo().join("plugins/dist/guardrails.wasm"));
    let output = plugin_test(&wasm, &repo().join("plugins/guardrails/cases.json"));
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.lines().any(|l| l == "8 passed, 0 failed"), "{out}");
}

#[test]
fn a_failing_case_is_reported_and_fails_the_run() {
    let wasm = require(&repo().join("plugins/dist/guardrails.wasm"));
    let dir = TempDir::new();
    let cases = dir.path().join("cases.json");
    let json = r#"{"cases": [
        {"name": "reads pass", "sql": "SELECT 1", "expect": {"verdict": "allow"}},
        {"name": "wrongly expects DDL to pass", "sql": "DROP TABLE t", "expect": {"verdict": "allow"}},
        {"name": "unparsable SQL", "sql": "SELEC nope", "expect": {"verdict": "allow"}}
    ]}"#;
    std::fs::write(&cases, json).unwrap();
    let output = plugin_test(&wasm, &cases);
    let out = text(&output);
    assert!(!output.status.success(), "{out}");
    assert!(out.contains("ok     reads pass"), "{out}");
    assert!(out.contains("FAILED wrongly expects DDL to pass: expected verdict allow, got deny"), "{out}");
    assert!(
        out.contains(
            "FAILED unparsable SQL: expected verdict allow, got refused by the analyser (sql_parse_error)"
        ),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "1 passed, 2 failed"), "{out}");
}

#[test]
fn a_plugin_for_another_contract_version_is_refused_with_the_hosts_message() {
    let wasm = require(&repo().join("plugins/dist/test-old-contract.wasm"));
    let output = plugin_test(&wasm, &repo().join("plugins/guardrails/cases.json"));
    assert!(!output.status.success());
    let out = text(&output);
    assert!(out.contains("built for contract sluice:policy@0.0.9; this Sluice supports 0.1.x"), "{out}");
}

#[test]
fn filters_and_masks_are_reported_as_data() {
    let wasm = require(&repo().join("plugins/dist/test-filter-mask.wasm"));
    let dir = TempDir::new();
    let cases = dir.path().join("cases.json");
    let json = r#"{"cases": [{"name": "orders", "sql": "SELECT id, email FROM orders", "expect": {
        "verdict": "allow",
        "row_filters": [{"relation": "orders", "predicate": "tenant_id = :tenant",
                         "params": {"tenant": {"attribute": "tenant_id"}}}],
        "column_masks": [{"relation": "orders", "column": "email", "mask": "email", "args": []}]
    }}]}"#;
    std::fs::write(&cases, json).unwrap();
    let output = plugin_test(&wasm, &cases);
    let out = text(&output);
    // The plugin's own decision, not the gateway's fail-closed deny: filters and masks as data.
    assert!(output.status.success(), "{out}");
    assert!(out.lines().any(|l| l == "1 passed, 0 failed"), "{out}");
}
