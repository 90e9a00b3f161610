//! Relation and function name patterns: `name`, `schema.name`, with `*` wildcards.

use sluice_policy_sdk::Relation;

/// How a pattern compares letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// Exactly, as the host normalised the names. Used for allow lists, so that a quoted
    /// `"Secrets"` is not allowed by `secrets`.
    Exact,
    /// ASCII case-insensitively. Used for deny lists, catalogs and approval triggers, where
    /// matching more is the safe side.
    Insensitive,
}

/// A `*` wildcard pattern over one name (a schema, a relation or a function name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    /// `pattern` with `*` matching any run of characters (none included).
    pub fn new(pattern: &str) -> Self {
        Glob(pattern.to_owned())
    }

    /// Whether `text` matches.
    pub fn matches(&self, text: &str, case: Case) -> bool {
        let eq = |a: char, b: char| match case {
            Case::Exact => a == b,
            Case::Insensitive => a.eq_ignore_ascii_case(&b),
        };
        wildcard_match(&self.0.chars().collect::<Vec<_>>(), &text.chars().collect::<Vec<_>>(), eq)
    }
}

/// Iterative `*` matching with backtracking to the last star: linear for typical patterns,
/// never recursive.
fn wildcard_match(pattern: &[char], text: &[char], eq: impl Fn(char, char) -> bool) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match (pattern.get(p), text.get(t)) {
            (Some('*'), _) => {
                star = Some((p, t));
                p += 1;
            }
            (Some(&pc), Some(&tc)) if eq(pc, tc) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern.get(p..).is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// A relation pattern: `name` (any schema) or `schema.name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelationPattern {
    /// The schema part; `None` matches any schema, or none.
    schema: Option<Glob>,
    /// The name part.
    name: Glob,
    /// As written, for messages.
    text: String,
}

impl RelationPattern {
    /// Parses `name` or `schema.name`; either part may use `*`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (schema, name) = match text.split_once('.') {
            Some((schema, name)) => (Some(schema), name),
            None => (None, text),
        };
        let bad = |part: &str| part.is_empty() || part.contains('.') || part.trim() != part;
        if bad(name) || schema.is_some_and(bad) {
            return Err(format!(
                "relation pattern `{text}` must be `name` or `schema.name` (no spaces, `*` as wildcard)"
            ));
        }
        Ok(RelationPattern { schema: schema.map(Glob::new), name: Glob::new(name), text: text.to_owned() })
    }

    /// Whether `relation` matches. A relation the statement named without a schema has
    /// `default_schema` (when configured) for schema-qualified patterns; otherwise only
    /// bare patterns match it.
    pub fn matches(&self, relation: &Relation, default_schema: Option<&str>, case: Case) -> bool {
        if !self.name.matches(&relation.name, case) {
            return false;
        }
        match &self.schema {
            None => true,
            Some(glob) => {
                relation.schema.as_deref().or(default_schema).is_some_and(|schema| glob.matches(schema, case))
            }
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(s: &str) -> Relation {
        Relation::parse(s)
    }

    #[test]
    fn globs() {
        let g = |p: &str, t: &str| Glob::new(p).matches(t, Case::Exact);
        assert!(g("*", ""));
        assert!(g("*", "anything"));
        assert!(g("audit_*", "audit_log"));
        assert!(g("*_log", "audit_log"));
        assert!(g("a*b*c", "aXbYc"));
        assert!(g("a*b*c", "abc"));
        assert!(!g("a*b*c", "acb"));
        assert!(!g("orders", "orders2"));
        assert!(!g("orders", "Orders"));
        assert!(Glob::new("orders").matches("ORDERS", Case::Insensitive));
        assert!(g("**", "x"));
    }

    #[test]
    fn bare_patterns_match_any_schema() {
        let p = RelationPattern::parse("customers").unwrap();
        assert!(p.matches(&rel("customers"), None, Case::Exact));
        assert!(p.matches(&rel("crm.customers"), None, Case::Exact));
        assert!(!p.matches(&rel("crm.customer"), None, Case::Exact));
    }

    #[test]
    fn qualified_patterns_need_the_schema() {
        let p = RelationPattern::parse("public.orders").unwrap();
        assert!(p.matches(&rel("public.orders"), None, Case::Exact));
        assert!(!p.matches(&rel("other.orders"), None, Case::Exact));
        assert!(!p.matches(&rel("orders"), None, Case::Exact));
        assert!(p.matches(&rel("orders"), Some("public"), Case::Exact));
        let secrets = RelationPattern::parse("secrets.*").unwrap();
        assert!(secrets.matches(&rel("SECRETS.keys"), None, Case::Insensitive));
        assert!(!secrets.matches(&rel("SECRETS.keys"), None, Case::Exact));
    }

    #[test]
    fn malformed_patterns() {
        for bad in ["", ".", "a.", ".b", "a.b.c", " a", "a .b"] {
            assert!(RelationPattern::parse(bad).is_err(), "{bad:?}");
        }
    }
}
