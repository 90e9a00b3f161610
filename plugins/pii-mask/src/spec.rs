//! Mask specs: `kind` or `kind(arg, ...)`, with the contract's `mask-kind` names, validated
//! with the same argument rules the host applies to a decision.

use sluice_policy_sdk::MaskKind;
use sluice_policy_sdk::decision::check_mask_args;

/// A validated mask: kind and arguments.
#[derive(Clone, Debug)]
pub struct MaskSpec {
    /// The built-in mask.
    pub kind: MaskKind,
    /// Its arguments.
    pub args: Vec<String>,
}

/// The contract's mask-kind names.
const KINDS: &[(&str, MaskKind)] = &[
    ("null", MaskKind::Null),
    ("constant", MaskKind::Constant),
    ("default-for-type", MaskKind::DefaultForType),
    ("redact", MaskKind::Redact),
    ("partial", MaskKind::Partial),
    ("email", MaskKind::Email),
    ("last-four", MaskKind::LastFour),
    ("keyed-hash", MaskKind::KeyedHash),
    ("round", MaskKind::Round),
    ("bucket", MaskKind::Bucket),
    ("truncate-date", MaskKind::TruncateDate),
    ("json-redact", MaskKind::JsonRedact),
];

impl MaskSpec {
    /// Parses `kind` or `kind(arg, ...)` (arguments trimmed, split at commas).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let text = spec.trim();
        let (name, args) = match text.split_once('(') {
            None => (text, Vec::new()),
            Some((name, rest)) => {
                let inner =
                    rest.strip_suffix(')').ok_or_else(|| format!("mask `{spec}`: missing `)` at the end"))?;
                let args = if inner.trim().is_empty() {
                    Vec::new()
                } else {
                    inner.split(',').map(|a| a.trim().to_owned()).collect()
                };
                (name.trim(), args)
            }
        };
        let kind = KINDS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k).ok_or_else(|| {
            let names: Vec<&str> = KINDS.iter().map(|(n, _)| *n).collect();
            format!("mask `{spec}`: unknown kind `{name}` (one of {})", names.join(", "))
        })?;
        check_mask_args(kind, &args).map_err(|e| format!("mask `{spec}`: {name} {e}"))?;
        Ok(MaskSpec { kind, args })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let p = |s: &str| MaskSpec::parse(s).unwrap();
        assert_eq!(p("email").kind, MaskKind::Email);
        let partial = p("partial(0,4)");
        assert_eq!(partial.kind, MaskKind::Partial);
        assert_eq!(partial.args, vec!["0".to_owned(), "4".to_owned()]);
        assert_eq!(p(" partial( 2 , 2 ) ").args, vec!["2".to_owned(), "2".to_owned()]);
        assert_eq!(p("last-four").kind, MaskKind::LastFour);
        assert_eq!(p("round(2)").args, vec!["2".to_owned()]);
        assert_eq!(p("bucket(1000)").kind, MaskKind::Bucket);
        assert_eq!(p("truncate-date(month)").kind, MaskKind::TruncateDate);
        assert_eq!(p("json-redact(ssn, dob)").args, vec!["ssn".to_owned(), "dob".to_owned()]);
        assert_eq!(p("constant(n/a)").args, vec!["n/a".to_owned()]);
        assert!(p("null()").args.is_empty());
        assert_eq!(p("keyed-hash").kind, MaskKind::KeyedHash);
        assert_eq!(p("default-for-type").kind, MaskKind::DefaultForType);
        assert_eq!(p("redact").kind, MaskKind::Redact);
    }

    #[test]
    fn bad_specs_name_themselves() {
        for bad in [
            "mask",
            "emial",
            "partial(4)",
            "partial(a,b)",
            "email(1)",
            "round(-3)",
            "round",
            "bucket(0)",
            "truncate-date(fortnight)",
            "json-redact",
            "constant",
            "partial(0,4",
            "Email",
        ] {
            let err = MaskSpec::parse(bad).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
        }
    }
}
