//! MySQL and MariaDB.

use super::{
    ColumnType, Mask, MaskDialect, MaskError, MaskRules, Placeholder, PlaceholderStyle, RelationName, Rules,
    Unit, ident_text,
};

/// MySQL's and MariaDB's rules.
pub(crate) struct MySql;

/// Functions safe over protected relations, beyond the common list.
const SAFE_FUNCTIONS: &[&str] = &[
    "ifnull",
    "if",
    "group_concat",
    "json_object",
    "json_array",
    "json_arrayagg",
    "json_objectagg",
    "date_format",
    "year",
    "month",
    "day",
    "date",
    "extract",
    "char",
    "locate",
    "bit_and",
    "bit_or",
];

/// Functions that read files or run programs (user-defined, but common).
const HIDDEN_READS: &[&str] = &["load_file", "sys_exec", "sys_eval"];

impl Rules for MySql {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn parser(&self) -> &'static dyn sqlparser::dialect::Dialect {
        &sqlparser::dialect::MySqlDialect {}
    }

    fn relation_ident(&self, ident: &sqlparser::ast::Ident) -> String {
        // On Linux (`lower_case_table_names=0`) table names compare as written, quoted or not.
        ident_text(ident)
    }

    fn column_key(&self, name: &str) -> String {
        // Column names are case-insensitive whatever the platform, and MariaDB folds them by
        // Unicode case (`É` is `é`). Folding through upper case too makes every pair MariaDB
        // reads as one name (`ς` and `σ` both upper-case to `Σ`) equal; the few pairs it
        // merges that MariaDB keeps apart err on the side of matching.
        name.to_uppercase().to_lowercase()
    }

    fn column_ident(&self, ident: &sqlparser::ast::Ident) -> String {
        self.column_key(&ident_text(ident))
    }

    fn table_functions(&self) -> (&'static [&'static str], &'static str) {
        (&["json_table"], "")
    }

    fn is_catalog_lookup_type(&self, _: &str) -> bool {
        false
    }

    fn is_system_relation(&self, relation: &RelationName) -> bool {
        relation.schema.as_deref().is_some_and(|schema| {
            ["mysql", "sys", "information_schema", "performance_schema"]
                .iter()
                .any(|s| s.eq_ignore_ascii_case(schema))
        })
    }

    fn is_pseudo_relation(&self, relation: &RelationName) -> bool {
        // `FROM DUAL` names no table.
        relation.schema.is_none() && relation.name.eq_ignore_ascii_case("dual")
    }

    fn accepts_nul_in_text(&self) -> bool {
        true
    }

    fn has_dml_modifiers(&self) -> bool {
        // `LOW_PRIORITY`, `QUICK`, `IGNORE`.
        true
    }

    fn reads_ident_as_parsed(&self, _: &sqlparser::ast::Ident) -> bool {
        true
    }

    fn placeholder(&self, token: &str) -> Option<Placeholder> {
        (token == "?").then_some(Placeholder::Next)
    }

    fn placeholder_style(&self) -> PlaceholderStyle {
        PlaceholderStyle::Question
    }

    fn quote_ident(&self, name: &str) -> String {
        format!("`{}`", name.replace('`', "``"))
    }

    fn fence(&self) -> &'static str {
        // A derived table with LIMIT is never merged into its parent.
        " LIMIT 18446744073709551615"
    }

    fn system_columns(&self) -> &'static [&'static str] {
        &[]
    }

    fn safe_functions(&self) -> &'static [&'static str] {
        SAFE_FUNCTIONS
    }

    fn unqualified_function<'f>(&self, function: &'f str) -> &'f str {
        function
    }

    fn reads_hidden(&self, function: &str) -> bool {
        HIDDEN_READS.contains(&function)
    }

    fn error_is_safe_to_show(&self, code: &str, _: &str) -> bool {
        // Syntax errors, unknown or ambiguous names.
        ["1052", "1054", "1064", "1146", "1248"].contains(&code)
    }

    fn mask_dialect(&self) -> MaskDialect {
        MaskDialect::MySql
    }

    fn telemetry_name(&self) -> &'static str {
        "mysql"
    }
}

impl MaskRules for MySql {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn string_literal(&self, _: &str, doubled: &str) -> String {
        // Backslashes doubled too: with `NO_BACKSLASH_ESCAPES` off (the default and the pinned
        // mode), `\'` would end the literal early.
        format!("'{}'", doubled.replace('\\', "\\\\"))
    }

    fn char_len(&self, c: &str) -> String {
        format!("CHAR_LENGTH({c})")
    }

    fn stars(&self, n: &str) -> String {
        format!("REPEAT('*', {n})")
    }

    fn left(&self, c: &str, n: u32) -> String {
        format!("LEFT({c}, {n})")
    }

    fn right(&self, c: &str, n: u32) -> String {
        format!("RIGHT({c}, {n})")
    }

    fn after_at(&self, c: &str) -> String {
        format!("SUBSTRING({c}, LOCATE('@', {c}) + 1)")
    }

    fn concat(&self, parts: &[&str]) -> String {
        // `||` is logical OR by default.
        format!("CONCAT({})", parts.join(", "))
    }

    fn empty_bytes(&self) -> &'static str {
        "X''"
    }

    fn constant(&self, class: ColumnType, canonical: &str, quoted: &str) -> String {
        match class {
            ColumnType::Integer | ColumnType::Decimal | ColumnType::Float => canonical.to_owned(),
            ColumnType::Date => format!("DATE {quoted}"),
            ColumnType::Timestamp => format!("TIMESTAMP {quoted}"),
            ColumnType::Bool => (if canonical == "true" { "TRUE" } else { "FALSE" }).into(),
            ColumnType::Text
            | ColumnType::Json
            | ColumnType::Jsonb
            | ColumnType::Bytes
            | ColumnType::Other => quoted.to_owned(),
        }
    }

    fn round(&self, _: ColumnType, c: &str, places: u16) -> String {
        format!("ROUND({c}, {places})")
    }

    fn floor_to(&self, c: &str, width: &str) -> String {
        format!("(FLOOR({c} / {width}) * {width})")
    }

    fn keyed_hash(&self, c: &str, ipad: &str, opad: &str) -> Result<String, &'static str> {
        Ok(format!(
            "LOWER(SHA2(CONCAT(X'{opad}', UNHEX(SHA2(CONCAT(X'{ipad}', CAST({c} AS BINARY)), 256))), 256))"
        ))
    }

    fn truncate(&self, unit: Unit, c: &str, date: bool) -> String {
        // Date arithmetic on DATE values keeps DATE; timestamps are truncated through their
        // date (or formatted down to the hour / minute) and cast back to DATETIME.
        let day = if date { c.to_string() } else { format!("DATE({c})") };
        let start = match unit {
            Unit::Year => format!("MAKEDATE(YEAR({c}), 1)"),
            Unit::Quarter => format!("(MAKEDATE(YEAR({c}), 1) + INTERVAL (QUARTER({c}) - 1) QUARTER)"),
            Unit::Month => format!("({day} - INTERVAL (DAYOFMONTH({c}) - 1) DAY)"),
            Unit::Week => format!("({day} - INTERVAL WEEKDAY({c}) DAY)"),
            Unit::Day => day,
            Unit::Hour | Unit::Minute if date => c.to_string(),
            Unit::Hour => return format!("CAST(DATE_FORMAT({c}, '%Y-%m-%d %H:00:00') AS DATETIME)"),
            Unit::Minute => return format!("CAST(DATE_FORMAT({c}, '%Y-%m-%d %H:%i:00') AS DATETIME)"),
        };
        if date { start } else { format!("CAST({start} AS DATETIME)") }
    }

    fn json_redact(&self, m: &Mask<'_>, keys: &[String], _: bool) -> Result<String, MaskError> {
        let paths = crate::rewrite::mask::dates::json_paths(m, keys)?;
        Ok(format!("JSON_REMOVE({}, {})", m.column(), paths.join(", ")))
    }
}
