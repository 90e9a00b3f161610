//! Configuration: every shipped example loads, and mistakes are all reported with their keys.

use crate::harness::{TempDir, repo};

#[test]
fn every_example_configuration_is_valid() {
    let examples = repo().join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path().join("sluice.toml");
        if path.exists() {
            let text = std::fs::read_to_string(&path).unwrap();
            sluice_core::config::parse(&text, &path, |_| None).unwrap_or_else(|e| panic!("{e}"));
            seen += 1;
        }
    }
    assert!(seen >= 3, "quickstart, postgres and mysql examples");
}

#[test]
fn every_problem_is_reported_with_file_and_key() {
    let dir = TempDir::new();
    let path = dir.path().join("bad.toml");
    let text = r#"
[server]
listen = "not an address"

[[auth.api_keys]]
id = "k"
hash = "sha256:abc"

[datasources.pg]
kind = "postgres"
url = "mysql://wrong-scheme"
max_rows = 0
catalog_refresh_seconds = 0
mask_secret = "short-secret"
writable_masked_columns = ["customers.email", "email", "a..b"]

[datasources.lite]
kind = "sqlite"
statements = ["read", "truncate"]

[datasources.odd]
kind = "oracle"
"#;
    let error = sluice_core::config::parse(text, &path, |_| None).err().expect("invalid");
    let report = error.to_string();
    for expected in [
        "bad.toml",
        "server.listen",
        "auth.api_keys[0].hash",
        "datasources.pg.url",
        "datasources.pg.max_rows",
        "datasources.pg.catalog_refresh_seconds",
        "datasources.pg.mask_secret: must be at least 16 bytes",
        "datasources.pg.writable_masked_columns: \"email\" is not",
        "datasources.pg.writable_masked_columns: \"a..b\" is not",
        "datasources.lite.path",
        "datasources.lite.statements",
        "datasources.odd.kind",
    ] {
        assert!(report.contains(expected), "{expected} missing from:\n{report}");
    }
    assert!(!report.contains("short-secret"), "the mask secret is never echoed: {report}");
}

#[test]
fn unknown_keys_and_missing_secrets_are_refused_without_echoing_values() {
    let dir = TempDir::new();
    let path = dir.path().join("s.toml");
    let text = "[server]\nlisten = \"127.0.0.1:1\"\nlistn = 3\n";
    let report = sluice_core::config::parse(text, &path, |_| None).err().unwrap().to_string();
    assert!(report.contains("line 3") && report.contains("listn"), "{report}");

    let text = "[auth.jwt]\nissuer = \"i\"\naudience = [\"a\"]\nalgorithms = [\"HS256\"]\n\
                # a comment is not interpolated: ${NOT_A_REFERENCE}\nhs256_secret = \"${SLUICE_TEST_UNSET_SECRET}\"\n";
    let report = sluice_core::config::parse(text, &path, |_| None).err().unwrap().to_string();
    assert!(
        report.contains("auth.jwt.hs256_secret: environment variable SLUICE_TEST_UNSET_SECRET is not set"),
        "{report}"
    );
    assert!(!report.contains("NOT_A_REFERENCE"), "{report}");

    let text = "[datasources.app]\nkind = \"postgres\"\nurl = \"${SECRET}\"\n";
    let secret = |_: &str| Some("mysql://app:hunter2@db.internal/app".to_string());
    let report = sluice_core::config::parse(text, &path, secret).err().unwrap().to_string();
    assert!(report.contains("datasources.app.url"), "{report}");
    assert!(!report.contains("hunter2"), "secrets never appear in reports: {report}");
}

#[test]
fn no_authentication_means_no_start() {
    let dir = TempDir::new();
    let text = "[datasources.app]\nkind = \"sqlite\"\npath = \"x.db\"\n";
    let report =
        sluice_core::config::parse(text, &dir.path().join("c.toml"), |_| None).err().unwrap().to_string();
    assert!(report.contains("auth"), "{report}");
}
