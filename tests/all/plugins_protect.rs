//! The first-party `tenant-isolation` and `pii-mask` plugins pass their recorded cases
//! (`plugins/<name>/cases.json`) through `sluice plugin test`: their row filters and masks as
//! data, checked by the real host.

use std::process::Command;

use crate::harness::repo;

/// Runs `sluice plugin test` on the built `plugins/dist/<name>.wasm` with its cases.
fn passes_its_cases(name: &str) {
    let wasm = repo().join(format!("plugins/dist/{name}.wasm"));
    assert!(wasm.exists(), "{} is missing: run plugins/build (tests/run does) first", wasm.display());
    let cases = repo().join(format!("plugins/{name}/cases.json"));
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["plugin", "test"])
        .arg(&wasm)
        .arg("--cases")
        .arg(&cases)
        .output()
        .unwrap();
    let out =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{name}: {out}");
    assert!(out.lines().any(|l| l.ends_with(" passed, 0 failed")), "{name}: {out}");
    assert!(!out.contains("FAILED"), "{name}: {out}");
}

#[test]
fn tenant_isolation_passes_its_cases() {
    passes_its_cases("tenant-isolation");
}

#[test]
fn pii_mask_passes_its_cases() {
    passes_its_cases("pii-mask");
}
