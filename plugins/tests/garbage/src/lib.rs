//! `test-garbage`: returns decisions the host must refuse as malformed (and then deny).
//!
//! The configuration, a JSON string, picks the defect, so a host test can check each
//! validation on its own; with no configuration (or `"all"`) every defect is present at once.
//!
//! | config          | decision                                                                  |
//! |-----------------|---------------------------------------------------------------------------|
//! | `"row_filter"`  | allow + a row filter on `no_such_table`, which the statement never touches |
//! | `"predicate"`   | allow + a row filter on the first touched relation with the predicate `true) OR (true` (breaks out of its parentheses) and an undeclared `:missing` parameter |
//! | `"mask"`        | allow + a `partial` mask with args `["x", "y", "z"]` (needs two integers)  |
//! | `"annotation"`  | allow + an annotation whose value is 1 MiB                                |
//! | `"empty_deny"`  | deny with an empty reason                                                 |
//! | `"all"`, none   | deny with an empty reason + all of the above                              |

use sluice_policy_sdk::prelude::*;

/// Which defect to produce.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Defect {
    RowFilter,
    Predicate,
    Mask,
    Annotation,
    EmptyDeny,
    All,
}

/// The plugin.
struct Garbage(Defect);

impl Policy for Garbage {
    fn init(config: &str) -> Result<Self, String> {
        let defect = match config.trim() {
            "" | "null" | "{}" | "\"all\"" => Defect::All,
            "\"row_filter\"" => Defect::RowFilter,
            "\"predicate\"" => Defect::Predicate,
            "\"mask\"" => Defect::Mask,
            "\"annotation\"" => Defect::Annotation,
            "\"empty_deny\"" => Defect::EmptyDeny,
            other => return Err(format!("test-garbage: unknown defect {other}")),
        };
        Ok(Garbage(defect))
    }

    fn evaluate(&self, query: &Query) -> Decision {
        let wants = |d: Defect| self.0 == d || self.0 == Defect::All;
        let touched = query.statement.relations().next().cloned().unwrap_or_else(|| Relation::new(None, "t"));
        let mut decision = if wants(Defect::EmptyDeny) { Decision::deny("") } else { Decision::allow() };
        if wants(Defect::RowFilter) {
            decision = decision.with_row_filter(Relation::new(None, "no_such_table"), "id = 1", []);
        }
        if wants(Defect::Predicate) {
            decision = decision.with_row_filter(touched.clone(), "true) OR (true = :missing", []);
        }
        if wants(Defect::Mask) {
            decision = decision.with_mask(touched, "email", MaskKind::Partial, &["x", "y", "z"]);
        }
        if wants(Defect::Annotation) {
            decision = decision.annotate("huge", "x".repeat(1 << 20));
        }
        decision
    }
}

sluice_policy_sdk::export_policy!(Garbage);
