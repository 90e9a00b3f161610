//! Crossing the boundary: Sluice's facts into the contract's types, and a plugin's decision back,
//! validated. Anything a plugin returns that breaks a rule below is a malformed verdict, which
//! denies the statement naming the plugin: a plugin cannot widen access by sending nonsense.
//!
//! Rules: a deny reason and an approval reason are non-empty (at most 4 KiB); approver groups are
//! non-empty names; row filters and masks name only relations the statement touches; a row
//! filter has a predicate (at most 8 KiB) and uniquely named parameters; a mask has the number
//! and shape of arguments its kind needs; annotations, session settings and the role together
//! stay under 64 KiB, with at most 256 entries and keys of at most 128 bytes.

use std::collections::BTreeSet;

use super::bindings::sluice::policy::types as wit;
use super::outcome::{Approval, ColumnMask, MaskKind, ParamSource, PluginDecision, RowFilter, Verdict};
use crate::analyse::{Access, ColumnUsage, Dialect, RelationName, StatementFacts, StatementKind};
use crate::auth::Principal;

/// Largest deny or approval reason, bytes.
pub const MAX_REASON_BYTES: usize = 4 << 10;
/// Largest row-filter predicate, bytes.
pub const MAX_PREDICATE_BYTES: usize = 8 << 10;
/// Largest total of annotations, session settings and role, bytes.
pub const MAX_EXTRAS_BYTES: usize = 64 << 10;
/// Most annotations plus session settings.
pub const MAX_EXTRAS_ENTRIES: usize = 256;
/// Longest annotation or setting key, bytes.
pub const MAX_KEY_BYTES: usize = 128;

/// Request metadata the plugins see.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The caller's address, when known.
    pub client_address: Option<String>,
    /// The caller's stated reason.
    pub justification: Option<String>,
    /// When Sluice received the request, ms since the Unix epoch.
    pub received_at_ms: u64,
    /// The request's trace id.
    pub trace_id: String,
}

/// Everything the chain judges: one statement in context.
#[derive(Debug, Clone, Copy)]
pub struct PolicyInput<'a> {
    /// The caller.
    pub principal: &'a Principal,
    /// The datasource's name.
    pub datasource: &'a str,
    /// Its dialect.
    pub dialect: Dialect,
    /// The analyser's facts.
    pub facts: &'a StatementFacts,
    /// The statement as Sluice will send it.
    pub text: &'a str,
    /// Request metadata.
    pub request: &'a RequestMeta,
    /// The live grants the principal holds on this datasource.
    pub grants: &'a [crate::access::Grant],
}

/// The contract's `query` record for `input`.
pub fn query(input: &PolicyInput<'_>) -> wit::Query {
    let facts = input.facts;
    wit::Query {
        principal: wit::Principal {
            id: input.principal.id.clone(),
            roles: input.principal.roles.clone(),
            attributes: input.principal.attributes.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        },
        datasource: wit::Datasource {
            name: input.datasource.to_string(),
            dialect: match input.dialect {
                Dialect::Postgres => wit::Dialect::Postgres,
                Dialect::MySql => wit::Dialect::Mysql,
                Dialect::Sqlite => wit::Dialect::Sqlite,
            },
        },
        statement: wit::Statement {
            kind: match facts.kind {
                StatementKind::Read => wit::StatementKind::Read,
                StatementKind::Insert => wit::StatementKind::Insert,
                StatementKind::Update => wit::StatementKind::Update,
                StatementKind::Delete => wit::StatementKind::Delete,
                StatementKind::Ddl => wit::StatementKind::Ddl,
                StatementKind::Other => wit::StatementKind::Other,
            },
            relations: facts
                .relations
                .iter()
                .map(|r| wit::RelationAccess {
                    relation: relation(&r.relation),
                    access: match r.access {
                        Access::Read => wit::Access::Read,
                        Access::Write => wit::Access::Write,
                    },
                })
                .collect(),
            columns: facts
                .columns
                .iter()
                .map(|c| wit::ColumnUse {
                    relation: c.relation.as_ref().map(relation),
                    column: c.column.clone(),
                    usage: match c.usage {
                        ColumnUsage::Projection => wit::ColumnUsage::Projection,
                        ColumnUsage::Filter => wit::ColumnUsage::Filter,
                        ColumnUsage::Join => wit::ColumnUsage::Join,
                        ColumnUsage::Grouping => wit::ColumnUsage::Grouping,
                        ColumnUsage::Ordering => wit::ColumnUsage::Ordering,
                        ColumnUsage::Assignment => wit::ColumnUsage::Assignment,
                    },
                })
                .collect(),
            functions: facts.functions.clone(),
            unrestricted_writes: facts.unrestricted_writes.iter().map(relation).collect(),
            limit: facts.limit,
            fingerprint: facts.fingerprint.clone(),
            text: input.text.to_string(),
        },
        request: wit::Request {
            client_address: input.request.client_address.clone(),
            justification: input.request.justification.clone(),
            received_at_ms: input.request.received_at_ms,
            trace_id: input.request.trace_id.clone(),
        },
        grants: input.grants.iter().map(grant).collect(),
        extensions: Vec::new(),
    }
}

/// A grant as plugins see it: a one-time grant's scope is its exact statement's fingerprint
/// (`statement:`), a window grant's the fingerprint it covers (`fingerprint:`), a role
/// template's its name (`template:`), a relation's its `schema.name` (`relation:`, with the
/// statement kinds in property `statements`).
fn grant(g: &crate::access::Grant) -> wit::Grant {
    let scope = match (&g.template, &g.relation, &g.statement, g.uses) {
        (Some(template), ..) => format!("template:{template}"),
        (None, Some(r), ..) => format!("relation:{}", r.relation),
        (None, None, Some(s), crate::access::GrantUses::Once) => format!("statement:{}", s.fingerprint),
        (None, None, Some(s), crate::access::GrantUses::Window) => format!("fingerprint:{}", s.fingerprint),
        (None, None, None, _) => String::new(),
    };
    let mut properties =
        vec![("request_id".into(), g.request_id.clone()), ("uses".into(), g.uses.name().into())];
    if let Some(s) = &g.statement {
        properties.push(("kind".into(), s.kind.clone()));
    }
    if let Some(r) = &g.relation {
        properties.push(("statements".into(), r.statements.join(",")));
    }
    wit::Grant {
        id: g.id.clone(),
        scope,
        expires_at_ms: u64::try_from(g.expires_at_ms).unwrap_or(0),
        approved_by: g.approved_by.clone(),
        properties,
    }
}

fn relation(r: &RelationName) -> wit::Relation {
    wit::Relation { schema: r.schema.clone(), name: r.name.clone() }
}

fn from_wit(r: &wit::Relation) -> RelationName {
    RelationName { schema: r.schema.clone(), name: r.name.clone() }
}

/// Validates `plugin`'s decision about the statement described by `facts`.
///
/// # Errors
/// The first broken rule, as a message for the caller.
pub fn decision(plugin: &str, d: wit::Decision, facts: &StatementFacts) -> Result<PluginDecision, String> {
    let verdict = match d.verdict {
        wit::Verdict::Allow => Verdict::Allow,
        wit::Verdict::Deny(reason) => Verdict::Deny(reason_text("deny reason", reason)?),
        wit::Verdict::RequireApproval(a) => {
            if a.approver_groups.iter().any(|g| g.trim().is_empty() || g.len() > MAX_KEY_BYTES) {
                return Err("an approver group is empty or too long".into());
            }
            if a.suggested_duration_seconds == Some(0) {
                return Err("the suggested approval duration is zero".into());
            }
            Verdict::RequireApproval(Approval {
                reason: reason_text("approval reason", a.reason)?,
                approver_groups: a.approver_groups,
                suggested_duration_seconds: a.suggested_duration_seconds,
            })
        }
    };
    let touched: BTreeSet<&RelationName> = facts.relations.iter().map(|r| &r.relation).collect();
    let check_relation = |r: &wit::Relation, what: &str| {
        let r = from_wit(r);
        if touched.contains(&r) {
            Ok(r)
        } else {
            Err(format!("{what} names {}, which the statement does not touch", display(&r)))
        }
    };
    let row_filters = d
        .row_filters
        .into_iter()
        .map(|f| {
            let relation = check_relation(&f.relation, "a row filter")?;
            if f.predicate.trim().is_empty() || f.predicate.len() > MAX_PREDICATE_BYTES {
                return Err("a row filter's predicate is empty or longer than 8 KiB".to_string());
            }
            let declared: BTreeSet<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
            check_predicate(&f.predicate, &declared)?;
            let mut names = BTreeSet::new();
            let params = f
                .params
                .into_iter()
                .map(|p| {
                    let valid = !p.name.is_empty()
                        && p.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && names.insert(p.name.clone());
                    if !valid {
                        return Err(format!("row-filter parameter {:?} is invalid or repeated", p.name));
                    }
                    let source = match p.source {
                        wit::ParamSource::Attribute(a) => ParamSource::Attribute(a),
                        wit::ParamSource::Literal(l) => ParamSource::Literal(l),
                    };
                    Ok((p.name, source))
                })
                .collect::<Result<_, String>>()?;
            Ok(RowFilter { plugin: plugin.to_string(), relation, predicate: f.predicate, params })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let column_masks = d
        .column_masks
        .into_iter()
        .map(|m| {
            let relation = check_relation(&m.relation, "a column mask")?;
            if m.column.is_empty() || m.column.len() > MAX_KEY_BYTES {
                return Err("a column mask names no column".to_string());
            }
            let kind = mask_kind(m.mask);
            check_mask_args(kind, &m.args).map_err(|e| format!("mask {kind:?} on {}: {e}", m.column))?;
            Ok(ColumnMask { plugin: plugin.to_string(), relation, column: m.column, kind, args: m.args })
        })
        .collect::<Result<Vec<_>, String>>()?;
    check_extras(&d.annotations, &d.session_settings, d.role.as_deref())?;
    Ok(PluginDecision {
        verdict,
        row_filters,
        column_masks,
        session_settings: d.session_settings,
        role: d.role,
        annotations: d.annotations,
    })
}

/// A lexical pre-check of a row-filter predicate (the rewrite stage parses it in the
/// datasource's dialect): parentheses balance outside string literals and never close more
/// than they opened (no `true) OR (true` escaping its wrapper), no statement separator, and
/// every `:name` parameter is declared.
fn check_predicate(predicate: &str, declared: &BTreeSet<&str>) -> Result<(), String> {
    let mut depth: i64 = 0;
    let mut quote: Option<char> = None;
    let mut chars = predicate.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' | '`' => quote = Some(c),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("a row filter's predicate closes a parenthesis it did not open".into());
                }
            }
            ';' => return Err("a row filter's predicate contains `;`".into()),
            ':' if chars.peek().is_some_and(|(_, n)| *n == ':') => {
                chars.next(); // a PostgreSQL cast, `x::int`
            }
            ':' => {
                let rest = predicate.get(i + 1..).unwrap_or_default();
                let name: String =
                    rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !name.is_empty() && !declared.contains(name.as_str()) {
                    return Err(format!("a row filter's predicate uses :{name}, which it does not declare"));
                }
            }
            _ => {}
        }
    }
    if depth != 0 || quote.is_some() {
        return Err("a row filter's predicate has unbalanced parentheses or quotes".into());
    }
    Ok(())
}

fn reason_text(what: &str, reason: String) -> Result<String, String> {
    if reason.trim().is_empty() {
        Err(format!("the {what} is empty"))
    } else if reason.len() > MAX_REASON_BYTES {
        Err(format!("the {what} is longer than 4 KiB"))
    } else {
        Ok(reason)
    }
}

fn mask_kind(kind: wit::MaskKind) -> MaskKind {
    match kind {
        wit::MaskKind::Null => MaskKind::Null,
        wit::MaskKind::Constant => MaskKind::Constant,
        wit::MaskKind::DefaultForType => MaskKind::DefaultForType,
        wit::MaskKind::Redact => MaskKind::Redact,
        wit::MaskKind::Partial => MaskKind::Partial,
        wit::MaskKind::Email => MaskKind::Email,
        wit::MaskKind::LastFour => MaskKind::LastFour,
        wit::MaskKind::KeyedHash => MaskKind::KeyedHash,
        wit::MaskKind::Round => MaskKind::Round,
        wit::MaskKind::Bucket => MaskKind::Bucket,
        wit::MaskKind::TruncateDate => MaskKind::TruncateDate,
        wit::MaskKind::JsonRedact => MaskKind::JsonRedact,
    }
}

/// The arguments each mask kind takes (see `mask-kind` in the WIT).
fn check_mask_args(kind: MaskKind, args: &[String]) -> Result<(), String> {
    let count = |n: usize| {
        if args.len() == n { Ok(()) } else { Err(format!("takes {n} argument(s), got {}", args.len())) }
    };
    let small_int =
        |s: &String| s.parse::<u16>().map(|_| ()).map_err(|_| format!("{s:?} is not a small integer"));
    match kind {
        MaskKind::Null
        | MaskKind::DefaultForType
        | MaskKind::Redact
        | MaskKind::Email
        | MaskKind::LastFour
        | MaskKind::KeyedHash => count(0),
        MaskKind::Constant => count(1),
        MaskKind::Partial => {
            count(2)?;
            args.iter().try_for_each(small_int)
        }
        MaskKind::Round => {
            count(1)?;
            args.iter().try_for_each(small_int)
        }
        MaskKind::Bucket => {
            count(1)?;
            match args.first().map(|a| a.parse::<f64>()) {
                Some(Ok(w)) if w.is_finite() && w > 0.0 => Ok(()),
                _ => Err("the bucket width must be a positive number".into()),
            }
        }
        MaskKind::TruncateDate => {
            count(1)?;
            let units = ["year", "quarter", "month", "week", "day", "hour", "minute"];
            if args.first().is_some_and(|u| units.contains(&u.as_str())) {
                Ok(())
            } else {
                Err(format!("the unit must be one of {units:?}"))
            }
        }
        MaskKind::JsonRedact => {
            if args.is_empty() || args.iter().any(String::is_empty) {
                Err("needs one or more non-empty keys".into())
            } else {
                Ok(())
            }
        }
    }
}

fn check_extras(
    annotations: &[(String, String)],
    settings: &[(String, String)],
    role: Option<&str>,
) -> Result<(), String> {
    let entries = annotations.iter().chain(settings);
    if annotations.len() + settings.len() > MAX_EXTRAS_ENTRIES {
        return Err(format!("more than {MAX_EXTRAS_ENTRIES} annotations and session settings"));
    }
    let mut total = role.map_or(0, str::len);
    for (key, value) in entries {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(format!(
                "an annotation or setting key is empty or longer than {MAX_KEY_BYTES} bytes"
            ));
        }
        total += key.len() + value.len();
    }
    if total > MAX_EXTRAS_BYTES {
        return Err("annotations, session settings and role exceed 64 KiB".into());
    }
    if role.is_some_and(|r| r.trim().is_empty()) {
        return Err("the role is empty".into());
    }
    Ok(())
}

/// `schema.name` or `name`.
pub fn display(r: &RelationName) -> String {
    match &r.schema {
        Some(schema) => format!("{schema}.{}", r.name),
        None => r.name.clone(),
    }
}
