//! Building a [`Decision`]: a verdict plus optional row filters, masks, settings and annotations.
//!
//! ```
//! use sluice_policy_sdk::prelude::*;
//!
//! let orders = Relation::parse("public.orders");
//! let decision = Decision::allow()
//!     .with_row_filter(orders.clone(), "tenant_id = :tenant", [FilterParam::attribute("tenant", "tenant_id")])
//!     .with_mask(orders, "email", MaskKind::Email, &[])
//!     .annotate("rule", "tenant-isolation");
//! assert!(decision.is_allow());
//! ```

use crate::{
    Approval, ColumnMask, Decision, FilterParam, MaskKind, ParamSource, Relation, RowFilter, Verdict,
};

impl Decision {
    /// A decision with `verdict` and nothing else.
    pub fn new(verdict: Verdict) -> Self {
        Decision {
            verdict,
            row_filters: Vec::new(),
            column_masks: Vec::new(),
            session_settings: Vec::new(),
            role: None,
            annotations: Vec::new(),
        }
    }

    /// No objection.
    pub fn allow() -> Self {
        Decision::new(Verdict::Allow)
    }

    /// Refuse the statement; `reason` is shown to the caller, so say what rule it broke and
    /// what they can do, without revealing data. Sluice refuses an empty reason as malformed.
    pub fn deny(reason: impl Into<String>) -> Self {
        Decision::new(Verdict::Deny(reason.into()))
    }

    /// Hold the statement until a human approves it; `reason` is shown to approvers.
    ///
    /// Refine with [`approvers`](Self::approvers) and [`duration_secs`](Self::duration_secs).
    /// Once approved, the caller holds a grant with scope `fingerprint:<fingerprint>`, which
    /// the plugin sees in [`Query::grants`](crate::Query) on the retry and should honour (see
    /// [`Query::live_fingerprint_grant`](crate::Query::live_fingerprint_grant)).
    pub fn require_approval(reason: impl Into<String>) -> Self {
        Decision::new(Verdict::RequireApproval(Approval {
            reason: reason.into(),
            approver_groups: Vec::new(),
            suggested_duration_seconds: None,
        }))
    }

    /// Sets the groups that may approve (empty: the datasource's default approvers).
    /// No effect unless the verdict is `require-approval`.
    pub fn approvers<S: Into<String>>(mut self, groups: impl IntoIterator<Item = S>) -> Self {
        if let Verdict::RequireApproval(approval) = &mut self.verdict {
            approval.approver_groups = groups.into_iter().map(Into::into).collect();
        }
        self
    }

    /// Suggests how long the resulting grant should last, in seconds.
    /// No effect unless the verdict is `require-approval`.
    pub fn duration_secs(mut self, seconds: u32) -> Self {
        if let Verdict::RequireApproval(approval) = &mut self.verdict {
            approval.suggested_duration_seconds = Some(seconds);
        }
        self
    }

    /// Restricts the rows of `relation` the caller may see or change to those where
    /// `predicate` holds.
    ///
    /// `predicate` is a SQL boolean expression over the relation's columns with `:name`
    /// parameters, each declared in `params`; Sluice parses and checks it and binds the values,
    /// never splicing text. Filters from every plugin are ANDed together.
    pub fn with_row_filter(
        mut self,
        relation: Relation,
        predicate: impl Into<String>,
        params: impl IntoIterator<Item = FilterParam>,
    ) -> Self {
        self.row_filters.push(RowFilter {
            relation,
            predicate: predicate.into(),
            params: params.into_iter().collect(),
        });
        self
    }

    /// Masks `column` of `relation` with the built-in mask `kind`; `args` as the kind's docs in
    /// the WIT say (e.g. `&["2", "2"]` for `partial`, `&[]` for `email`). When several plugins
    /// mask a column, the strictest mask wins.
    pub fn with_mask(
        mut self,
        relation: Relation,
        column: impl Into<String>,
        kind: MaskKind,
        args: &[&str],
    ) -> Self {
        self.column_masks.push(ColumnMask {
            relation,
            column: column.into(),
            mask: kind,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        });
        self
    }

    /// Adds a session setting for the statement's transaction (e.g. `sluice.tenant_id`).
    pub fn with_session_setting(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.session_settings.push((key.into(), value.into()));
        self
    }

    /// Asks Sluice to run the statement as the database role `role`.
    pub fn with_role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }

    /// Records `key = value` in the audit trail for this decision.
    pub fn annotate(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.push((key.into(), value.into()));
        self
    }

    /// Whether the verdict is `allow`.
    pub fn is_allow(&self) -> bool {
        matches!(self.verdict, Verdict::Allow)
    }

    /// Whether the verdict is `deny`.
    pub fn is_deny(&self) -> bool {
        matches!(self.verdict, Verdict::Deny(_))
    }

    /// Whether the verdict is `require-approval`.
    pub fn is_require_approval(&self) -> bool {
        matches!(self.verdict, Verdict::RequireApproval(_))
    }
}

impl FilterParam {
    /// Parameter `:name` bound to the principal's attribute `attribute`; Sluice denies the
    /// statement if the principal lacks it.
    pub fn attribute(name: impl Into<String>, attribute: impl Into<String>) -> Self {
        FilterParam { name: name.into(), source: ParamSource::Attribute(attribute.into()) }
    }

    /// Parameter `:name` bound to a constant.
    pub fn literal(name: impl Into<String>, value: impl Into<String>) -> Self {
        FilterParam { name: name.into(), source: ParamSource::Literal(value.into()) }
    }
}

/// Units `truncate-date` accepts.
pub const DATE_UNITS: &[&str] = &["year", "quarter", "month", "week", "day", "hour", "minute"];

/// Checks that `args` are what mask `kind` takes, by the rules the host applies to every
/// decision (see `mask-kind` in the WIT): a plugin that checks its configured masks with this at
/// `init` fails early and clearly instead of having every decision refused as malformed.
///
/// # Errors
/// What is wrong with the arguments.
pub fn check_mask_args(kind: MaskKind, args: &[String]) -> Result<(), String> {
    let count = |n: usize| {
        if args.len() == n { Ok(()) } else { Err(format!("takes {n} argument(s), got {}", args.len())) }
    };
    let small_int = |s: &String| {
        s.parse::<u16>().map(|_| ()).map_err(|_| format!("argument {s:?} is not an integer 0-65535"))
    };
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
                _ => Err("width must be a positive number".into()),
            }
        }
        MaskKind::TruncateDate => {
            count(1)?;
            if args.first().is_some_and(|u| DATE_UNITS.contains(&u.as_str())) {
                Ok(())
            } else {
                Err(format!("unit must be one of {}", DATE_UNITS.join(", ")))
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

#[cfg(test)]
mod tests {
    use crate::{Decision, MaskKind, Relation, Verdict};

    #[test]
    fn approval_builder() {
        let d = Decision::require_approval("why").approvers(["dba", "security"]).duration_secs(60);
        match d.verdict {
            Verdict::RequireApproval(a) => {
                assert_eq!(a.reason, "why");
                assert_eq!(a.approver_groups, ["dba", "security"]);
                assert_eq!(a.suggested_duration_seconds, Some(60));
            }
            other => panic!("{other:?}"),
        }
        // Approval refinements do not turn another verdict into an approval.
        assert!(Decision::deny("no").approvers(["dba"]).duration_secs(1).is_deny());
    }

    #[test]
    fn additions() {
        let d = Decision::allow()
            .with_mask(Relation::parse("t"), "c", MaskKind::Partial, &["1", "2"])
            .with_session_setting("sluice.tenant_id", "7")
            .with_role("reader")
            .annotate("k", "v");
        assert!(d.is_allow());
        assert_eq!(d.column_masks[0].args, ["1", "2"]);
        assert_eq!(d.session_settings, [("sluice.tenant_id".to_owned(), "7".to_owned())]);
        assert_eq!(d.role.as_deref(), Some("reader"));
        assert_eq!(d.annotations.len(), 1);
    }
}
