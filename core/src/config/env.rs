//! `${NAME}` interpolation in string values, so secrets can live in the environment.
//!
//! Only string values are interpolated, after parsing: comments are never touched and a
//! problem names the key it occurred in. `$$` writes a literal `$`. A variable that is unset is a
//! configuration problem, never an empty string: an empty secret would silently weaken
//! authentication.

use super::Problems;

/// Interpolates every string value in `table` (recursively), recording problems under the
/// value's dotted key, prefixed by `prefix`.
pub fn interpolate_table(
    table: &mut toml::Table,
    prefix: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) {
    for (key, value) in table.iter_mut() {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        interpolate_value(value, &path, lookup, problems);
    }
}

fn interpolate_value(
    value: &mut toml::Value,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) {
    match value {
        toml::Value::String(s) if s.contains('$') => *s = interpolate(s, path, lookup, problems),
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_value(item, &format!("{path}[{i}]"), lookup, problems);
            }
        }
        toml::Value::Table(table) => interpolate_table(table, path, lookup, problems),
        _ => {}
    }
}

/// Replaces `${NAME}` and `${NAME:-default}` in `text`; problems are recorded under `key`.
pub fn interpolate(
    text: &str,
    key: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        let (before, after) = rest.split_at(pos);
        out.push_str(before);
        if let Some(tail) = after.strip_prefix("$$") {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let Some(end) = tail.find('}') else {
                problems.add(key, "unterminated `${` (write `$$` for a literal `$`)");
                return out;
            };
            let (reference, tail) = tail.split_at(end);
            let (name, default) = match reference.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (reference, None),
            };
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                problems.add(key, format!("`${{{reference}}}` is not a valid variable reference"));
            } else {
                match (lookup(name), default) {
                    (Some(value), _) => out.push_str(&value),
                    (None, Some(default)) => out.push_str(default),
                    (None, None) => problems.add(key, format!("environment variable {name} is not set")),
                }
            }
            rest = tail.get(1..).unwrap_or_default();
        } else {
            out.push('$');
            rest = after.get(1..).unwrap_or_default();
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        (name == "SECRET").then(|| "s3cr3t".to_string())
    }

    fn run(text: &str) -> (String, Vec<String>) {
        let mut problems = Problems::default();
        let out = interpolate(text, "k", &lookup, &mut problems);
        (out, problems.into_vec().into_iter().map(|p| format!("{}: {}", p.key, p.message)).collect())
    }

    #[test]
    fn substitutes_defaults_and_escapes() {
        assert_eq!(run("${SECRET}").0, "s3cr3t");
        assert_eq!(run("a${NOPE:-dflt}b").0, "adfltb");
        assert_eq!(run("$$HOME $5").0, "$HOME $5");
    }

    #[test]
    fn unset_and_malformed_are_problems() {
        assert_eq!(run("${NOPE}").1, vec!["k: environment variable NOPE is not set".to_string()]);
        assert_eq!(run("${1BAD}").1, vec!["k: `${1BAD}` is not a valid variable reference".to_string()]);
        assert_eq!(run("${SECRET").1.len(), 1);
    }

    #[test]
    fn tables_are_walked_with_key_paths_and_comments_ignored() {
        let mut table: toml::Table = toml::from_str(
            "# ${IGNORED}\n[a]\nb = [\"${SECRET}\", \"${NOPE}\"]\nc = { d = \"x${SECRET}\" }\n",
        )
        .unwrap();
        let mut problems = Problems::default();
        interpolate_table(&mut table, "", &lookup, &mut problems);
        assert_eq!(table["a"]["b"][0].as_str(), Some("s3cr3t"));
        assert_eq!(table["a"]["c"]["d"].as_str(), Some("xs3cr3t"));
        let problems = problems.into_vec();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "a.b[1]");
    }
}
