//! The README is a contract: its error table matches the code, and its example request returns
//! exactly the output it shows.

use serde_json::Value;

use crate::harness::repo;
use crate::quickstart::{QUICKSTART_KEY, quickstart};

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).unwrap()
}

/// The first fenced block after `marker`.
fn block_after(text: &str, marker: &str) -> String {
    let start = text.find(marker).unwrap_or_else(|| panic!("{marker} not in README"));
    let rest = &text[start..];
    let open = rest.find("```").unwrap();
    let body = &rest[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

#[test]
fn error_table_matches_the_error_codes() {
    let text = readme();
    let section = &text[text.find("## Error codes").unwrap()..];
    // Up to the next section: later tables (metrics) have rows of the same shape.
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |end| end + 3)];
    let rows: Vec<(String, u16)> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].parse().unwrap())
        })
        .collect();
    let expected: Vec<(String, u16)> =
        sluice_core::ErrorCode::ALL.iter().map(|c| (c.as_str().to_string(), c.status())).collect();
    let mut sorted_rows = rows.clone();
    sorted_rows.sort();
    let mut sorted_expected = expected;
    sorted_expected.sort();
    assert_eq!(sorted_rows, sorted_expected);
}

#[tokio::test]
async fn the_curl_example_returns_what_the_readme_shows() {
    let text = readme();
    let request = block_after(&text, "<!-- readme-example: request -->");
    assert!(request.contains(&format!("Bearer {QUICKSTART_KEY}")));
    let body = request.split("-d '").nth(1).unwrap();
    let body = &body[..body.rfind('\'').unwrap()];
    let mut expected: Value =
        serde_json::from_str(&block_after(&text, "<!-- readme-example: response -->")).unwrap();

    let (sluice, _dir) = quickstart().await;
    let (status, mut actual) = sluice.post(Some(QUICKSTART_KEY), body.to_string()).await;
    assert_eq!(status, 200, "{actual}");
    assert_eq!(actual["trace_id"].as_str().unwrap().len(), 32);
    actual["trace_id"] = Value::Null;
    expected["trace_id"] = Value::Null;
    assert_eq!(actual, expected);
}
