//! The plugin's configuration: the JSON Sluice passes to `init`, validated into [`Rules`].
//!
//! Every field is optional; `""`, `null` and `{}` give the defaults, which are the safe ones
//! (deny DDL, unrestricted writes, catalog access and dangerous functions). Unknown fields are
//! an error, and validation reports every mistake at once. The reference with an example is
//! in `plugins/README.md`.

use serde::Deserialize;
use sluice_policy_sdk::StatementKind;

use crate::hours::{Day, Hours};
use crate::pattern::{Glob, RelationPattern};

/// Functions denied when `deny_functions` is not configured: they read or write files, run
/// commands or SQL the analyser never saw, reach other servers, change session settings
/// Sluice relies on (`set_config` could forge `sluice.*` row-security settings), or stall the
/// database.
pub const DEFAULT_DENY_FUNCTIONS: &[&str] = &[
    // PostgreSQL
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_*",
    "pg_stat_file",
    "pg_sleep*",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "set_config",
    "lo_*",
    "dblink*",
    "query_to_xml*",
    "table_to_xml*",
    "schema_to_xml*",
    "database_to_xml*",
    "cursor_to_xml*",
    // MySQL / MariaDB
    "load_file",
    "sleep",
    "benchmark",
    "sys_exec",
    "sys_eval",
    // SQL Server
    "xp_*",
    "openrowset",
    "opendatasource",
    "openquery",
    // SQLite
    "load_extension",
    "readfile",
    "writefile",
    "fts3_tokenizer",
];

/// The configuration as written (JSON). See `plugins/README.md` for the reference.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Deny DDL (CREATE, ALTER, DROP, TRUNCATE, ...). Default `true`.
    #[serde(default = "yes")]
    deny_ddl: bool,
    /// Deny UPDATE/DELETE listed in `statement.unrestricted-writes`. Default `true`.
    #[serde(default = "yes")]
    deny_unrestricted_writes: bool,
    /// Deny system catalogs and the functions that read them (`pg_*`, `to_regclass`,
    /// `has_table_privilege`, SQLite's `pragma_*` and `dbstat`). Default `true`.
    #[serde(default = "yes")]
    deny_catalogs: bool,
    /// Function name patterns to deny; replaces [`DEFAULT_DENY_FUNCTIONS`]; `[]` disables.
    #[serde(default)]
    deny_functions: Option<Vec<String>>,
    /// Schema assumed for relations a statement names without one, for `schema.name` patterns.
    #[serde(default)]
    default_schema: Option<String>,
    /// Per-role table rules.
    #[serde(default)]
    tables: Vec<RawTableRule>,
    /// When writes may run.
    #[serde(default)]
    allowed_hours: Option<RawHours>,
    /// Approval rules; the first that matches applies.
    #[serde(default)]
    require_approval: Vec<RawApprovalRule>,
}

/// `true`, for serde defaults.
fn yes() -> bool {
    true
}

/// One entry of `tables`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTableRule {
    role: String,
    #[serde(default)]
    allow: Option<Vec<String>>,
    #[serde(default)]
    deny: Vec<String>,
}

/// `allowed_hours`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHours {
    #[serde(default)]
    time_zone_offset_minutes: i32,
    start: String,
    end: String,
    #[serde(default)]
    days: Option<Vec<String>>,
    #[serde(default)]
    applies_to: Option<Vec<String>>,
}

/// One entry of `require_approval`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApprovalRule {
    #[serde(default)]
    when: RawWhen,
    reason: String,
    #[serde(default)]
    approvers: Vec<String>,
    #[serde(default)]
    duration_secs: Option<u32>,
}

/// `require_approval[].when`: every condition given must hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    #[serde(default)]
    kinds: Option<Vec<String>>,
    #[serde(default)]
    relations: Option<Vec<String>>,
    #[serde(default)]
    roles_with: Option<Vec<String>>,
    #[serde(default)]
    roles_without: Option<Vec<String>>,
}

/// The validated configuration the rules run on.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Deny DDL.
    pub deny_ddl: bool,
    /// Deny unrestricted UPDATE/DELETE.
    pub deny_unrestricted_writes: bool,
    /// Deny system catalogs.
    pub deny_catalogs: bool,
    /// Denied function patterns.
    pub deny_functions: Vec<Glob>,
    /// Schema of relations named without one.
    pub default_schema: Option<String>,
    /// Per-role table rules.
    pub tables: Vec<TableRule>,
    /// When the listed kinds may run.
    pub allowed_hours: Option<Hours>,
    /// Approval rules, in order.
    pub require_approval: Vec<ApprovalRule>,
}

/// Tables a role may (not) touch.
#[derive(Debug, Clone)]
pub struct TableRule {
    /// The role; `*` for every principal.
    pub role: String,
    /// If present, relations not matching one of these are denied (compared exactly).
    pub allow: Option<Vec<RelationPattern>>,
    /// Relations matching one of these are denied (compared case-insensitively).
    pub deny: Vec<RelationPattern>,
}

/// A rule that holds statements for approval.
#[derive(Debug, Clone)]
pub struct ApprovalRule {
    /// Statement kinds it applies to; `None`: all.
    pub kinds: Option<Vec<StatementKind>>,
    /// Applies when any touched relation matches one of these; `None`: regardless.
    pub relations: Option<Vec<RelationPattern>>,
    /// Applies when the principal holds one of these roles; `None`: regardless.
    pub roles_with: Option<Vec<String>>,
    /// Applies when the principal holds none of these roles; `None`: regardless.
    pub roles_without: Option<Vec<String>>,
    /// Shown to approvers.
    pub reason: String,
    /// Who may approve.
    pub approvers: Vec<String>,
    /// Suggested grant duration.
    pub duration_secs: Option<u32>,
}

impl Rules {
    /// Parses and validates `config` (JSON; `""` or `null` for the defaults), reporting every
    /// problem found.
    pub fn from_json(config: &str) -> Result<Rules, String> {
        let trimmed = config.trim();
        let raw: RawConfig = if trimmed.is_empty() || trimmed == "null" {
            RawConfig::default_config()
        } else if !trimmed.starts_with('{') {
            // serde would also read a struct from a JSON array; only an object is meant.
            return Err("guardrails configuration: must be a JSON object".to_owned());
        } else {
            serde_json::from_str(trimmed).map_err(|e| format!("guardrails configuration: {e}"))?
        };
        let mut problems = Vec::new();
        let rules = raw.validate(&mut problems);
        if problems.is_empty() {
            Ok(rules)
        } else {
            Err(format!("guardrails configuration: {}", problems.join("; ")))
        }
    }
}

impl RawConfig {
    /// The configuration `{}` means.
    fn default_config() -> Self {
        RawConfig {
            deny_ddl: true,
            deny_unrestricted_writes: true,
            deny_catalogs: true,
            deny_functions: None,
            default_schema: None,
            tables: Vec::new(),
            allowed_hours: None,
            require_approval: Vec::new(),
        }
    }

    /// Builds [`Rules`], pushing each problem onto `problems`.
    fn validate(self, problems: &mut Vec<String>) -> Rules {
        let deny_functions = match self.deny_functions {
            None => DEFAULT_DENY_FUNCTIONS.iter().map(|f| Glob::new(f)).collect(),
            Some(list) => list
                .iter()
                .filter_map(|f| {
                    if f.is_empty() {
                        problems.push("deny_functions: empty pattern".to_owned());
                        None
                    } else {
                        Some(Glob::new(f))
                    }
                })
                .collect(),
        };
        if self.default_schema.as_deref().is_some_and(str::is_empty) {
            problems.push("default_schema: must not be empty".to_owned());
        }
        let tables = self
            .tables
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                if t.role.is_empty() {
                    problems.push(format!("tables[{i}].role: must not be empty"));
                }
                TableRule {
                    allow: t.allow.map(|list| patterns(&list, &format!("tables[{i}].allow"), problems)),
                    deny: patterns(&t.deny, &format!("tables[{i}].deny"), problems),
                    role: t.role,
                }
            })
            .collect();
        let allowed_hours = self.allowed_hours.and_then(|h| h.validate(problems));
        let require_approval = self
            .require_approval
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.validate(&format!("require_approval[{i}]"), problems))
            .collect();
        Rules {
            deny_ddl: self.deny_ddl,
            deny_unrestricted_writes: self.deny_unrestricted_writes,
            deny_catalogs: self.deny_catalogs,
            deny_functions,
            default_schema: self.default_schema,
            tables,
            allowed_hours,
            require_approval,
        }
    }
}

impl RawHours {
    /// Validates `allowed_hours`.
    fn validate(self, problems: &mut Vec<String>) -> Option<Hours> {
        let before = problems.len();
        // Real offsets run from UTC-12:00 to UTC+14:00.
        if !(-720..=840).contains(&self.time_zone_offset_minutes) {
            problems.push(format!(
                "allowed_hours.time_zone_offset_minutes: {} is outside -720..=840",
                self.time_zone_offset_minutes
            ));
        }
        let start = parse_time(&self.start, "allowed_hours.start", problems);
        let end = parse_time(&self.end, "allowed_hours.end", problems);
        if start.is_some() && start == end {
            problems
                .push("allowed_hours: start and end are equal (use 00:00 to 24:00 for all day)".to_owned());
        }
        let days = match self.days {
            None => Day::ALL.to_vec(),
            Some(days) => days
                .iter()
                .filter_map(|d| {
                    let day = Day::parse(d);
                    if day.is_none() {
                        problems.push(format!("allowed_hours.days: unknown day `{d}` (mon, tue, ..., sun)"));
                    }
                    day
                })
                .collect(),
        };
        let applies_to = match self.applies_to {
            None => {
                vec![StatementKind::Insert, StatementKind::Update, StatementKind::Delete, StatementKind::Ddl]
            }
            Some(kinds) => statement_kinds(&kinds, "allowed_hours.applies_to", problems),
        };
        if problems.len() > before {
            return None;
        }
        Some(Hours {
            offset_minutes: self.time_zone_offset_minutes,
            start: start.unwrap_or(0),
            end: end.unwrap_or(0),
            days,
            applies_to,
        })
    }
}

impl RawApprovalRule {
    /// Validates one approval rule; `at` names it in messages.
    fn validate(self, at: &str, problems: &mut Vec<String>) -> ApprovalRule {
        if self.reason.trim().is_empty() {
            problems.push(format!("{at}.reason: must not be empty (approvers read it)"));
        }
        if self.duration_secs == Some(0) {
            problems.push(format!("{at}.duration_secs: must be positive"));
        }
        if self.approvers.iter().any(String::is_empty) {
            problems.push(format!("{at}.approvers: empty group name"));
        }
        let when = self.when;
        ApprovalRule {
            kinds: when.kinds.map(|k| statement_kinds(&k, &format!("{at}.when.kinds"), problems)),
            relations: when.relations.map(|r| patterns(&r, &format!("{at}.when.relations"), problems)),
            roles_with: when.roles_with,
            roles_without: when.roles_without,
            reason: self.reason,
            approvers: self.approvers,
            duration_secs: self.duration_secs,
        }
    }
}

/// Parses relation patterns, reporting bad ones under `at`.
fn patterns(list: &[String], at: &str, problems: &mut Vec<String>) -> Vec<RelationPattern> {
    list.iter()
        .filter_map(|p| RelationPattern::parse(p).map_err(|e| problems.push(format!("{at}: {e}"))).ok())
        .collect()
}

/// Parses statement kind names (`read`, `insert`, `update`, `delete`, `ddl`, `other`).
fn statement_kinds(list: &[String], at: &str, problems: &mut Vec<String>) -> Vec<StatementKind> {
    list.iter()
        .filter_map(|k| {
            let kind = match k.as_str() {
                "read" => Some(StatementKind::Read),
                "insert" => Some(StatementKind::Insert),
                "update" => Some(StatementKind::Update),
                "delete" => Some(StatementKind::Delete),
                "ddl" => Some(StatementKind::Ddl),
                "other" => Some(StatementKind::Other),
                _ => None,
            };
            if kind.is_none() {
                problems.push(format!(
                    "{at}: unknown statement kind `{k}` (read, insert, update, delete, ddl, other)"
                ));
            }
            kind
        })
        .collect()
}

/// Parses `HH:MM` (00:00 to 24:00) into minutes after midnight.
fn parse_time(text: &str, at: &str, problems: &mut Vec<String>) -> Option<u32> {
    let parsed = text.split_once(':').and_then(|(h, m)| {
        let ok = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !ok(h) || !ok(m) {
            return None;
        }
        let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    });
    if parsed.is_none() {
        problems.push(format!("{at}: `{text}` is not a time HH:MM between 00:00 and 24:00"));
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_the_safe_default() {
        for config in ["", "  ", "null", "{}"] {
            let rules = Rules::from_json(config).unwrap();
            assert!(rules.deny_ddl && rules.deny_unrestricted_writes && rules.deny_catalogs);
            assert_eq!(rules.deny_functions.len(), DEFAULT_DENY_FUNCTIONS.len());
            assert!(rules.tables.is_empty() && rules.allowed_hours.is_none());
        }
    }

    #[test]
    fn full_config_parses() {
        let rules = Rules::from_json(
            r#"{
              "deny_ddl": false, "deny_unrestricted_writes": true, "deny_catalogs": false,
              "deny_functions": ["pg_sleep"], "default_schema": "public",
              "tables": [{"role": "analyst", "allow": ["public.orders", "customers"], "deny": ["secrets.*"]}],
              "allowed_hours": {"time_zone_offset_minutes": 60, "start": "08:00", "end": "18:00",
                                "days": ["mon", "tue", "wed", "thu", "fri"], "applies_to": ["insert", "update", "delete", "ddl"]},
              "require_approval": [{"when": {"kinds": ["delete"], "relations": ["customers"], "roles_without": ["dba"]},
                                    "reason": "Deleting customers needs a DBA", "approvers": ["dba"], "duration_secs": 3600}]
            }"#,
        )
        .unwrap();
        assert!(!rules.deny_ddl && !rules.deny_catalogs);
        assert_eq!(rules.tables.len(), 1);
        let hours = rules.allowed_hours.unwrap();
        assert_eq!((hours.start, hours.end, hours.offset_minutes), (480, 1080, 60));
        assert_eq!(hours.days.len(), 5);
        assert_eq!(rules.require_approval[0].duration_secs, Some(3600));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = Rules::from_json(r#"{"deny_dll": true}"#).unwrap_err();
        assert!(err.contains("deny_dll"), "{err}");
        assert!(Rules::from_json(r#"{"tables": [{"role": "a", "allowed": []}]}"#).is_err());
        assert!(Rules::from_json("[]").is_err());
        assert!(Rules::from_json("{").is_err());
    }

    #[test]
    fn every_problem_is_reported() {
        let err = Rules::from_json(
            r#"{
              "tables": [{"role": "", "allow": ["a.b.c"], "deny": [""]}],
              "allowed_hours": {"time_zone_offset_minutes": 900, "start": "8:00", "end": "25:00", "days": ["monday"], "applies_to": ["select"]},
              "require_approval": [{"reason": " ", "duration_secs": 0, "when": {"kinds": ["drop"]}}]
            }"#,
        )
        .unwrap_err();
        for needle in [
            "tables[0].role",
            "tables[0].allow",
            "tables[0].deny",
            "time_zone_offset_minutes",
            "allowed_hours.start",
            "allowed_hours.end",
            "monday",
            "select",
            "require_approval[0].reason",
            "require_approval[0].duration_secs",
            "`drop`",
        ] {
            assert!(err.contains(needle), "missing {needle} in {err}");
        }
    }

    #[test]
    fn times() {
        let mut p = Vec::new();
        assert_eq!(parse_time("00:00", "t", &mut p), Some(0));
        assert_eq!(parse_time("24:00", "t", &mut p), Some(1440));
        assert_eq!(parse_time("23:59", "t", &mut p), Some(1439));
        assert!(p.is_empty());
        for bad in ["24:01", "7:00", "07:60", "0700", "ab:cd", ""] {
            assert_eq!(parse_time(bad, "t", &mut p), None, "{bad}");
        }
        assert!(Rules::from_json(r#"{"allowed_hours": {"start": "08:00", "end": "08:00"}}"#).is_err());
    }
}
