//! SQLite.

use super::{
    ColumnType, Mask, MaskDialect, MaskError, MaskRules, Placeholder, PlaceholderStyle, RelationName, Rules,
    Unit, ident_text, numbered, starts_with_ignore_case,
};

/// SQLite's rules.
pub(crate) struct Sqlite;

/// Functions safe over protected relations, beyond the common list.
const SAFE_FUNCTIONS: &[&str] = &[
    "ifnull",
    "iif",
    "group_concat",
    "json_object",
    "json_array",
    "json_group_array",
    "json_group_object",
    "strftime",
    "date",
    "datetime",
    "total",
    "printf",
    "format",
    "unicode",
];

/// Functions that load code, read or write files, or change the tokenizer.
const HIDDEN_READS: &[&str] = &["load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"];

impl Rules for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn parser(&self) -> &'static dyn sqlparser::dialect::Dialect {
        &sqlparser::dialect::SQLiteDialect {}
    }

    fn relation_ident(&self, ident: &sqlparser::ast::Ident) -> String {
        ident_text(ident).to_ascii_lowercase()
    }

    fn column_key(&self, name: &str) -> String {
        name.to_ascii_lowercase()
    }

    fn column_ident(&self, ident: &sqlparser::ast::Ident) -> String {
        self.column_key(&ident_text(ident))
    }

    fn table_functions(&self) -> (&'static [&'static str], &'static str) {
        (&["json_each", "json_tree", "generate_series"], "main")
    }

    fn is_catalog_lookup_type(&self, _: &str) -> bool {
        false
    }

    fn is_system_relation(&self, relation: &RelationName) -> bool {
        starts_with_ignore_case(&relation.name, "sqlite_")
    }

    fn is_pseudo_relation(&self, _: &RelationName) -> bool {
        false
    }

    fn accepts_nul_in_text(&self) -> bool {
        true
    }

    fn has_dml_modifiers(&self) -> bool {
        false
    }

    fn reads_ident_as_parsed(&self, ident: &sqlparser::ast::Ident) -> bool {
        // `[...]` has no escape, so sqlparser's `]]` inside brackets ends the name early.
        !(ident.quote_style == Some('[') && ident.value.contains(']'))
    }

    fn placeholder(&self, token: &str) -> Option<Placeholder> {
        match token.strip_prefix('?') {
            Some("") => Some(Placeholder::Next),
            Some(digits) => numbered(digits),
            None => None,
        }
    }

    fn placeholder_style(&self) -> PlaceholderStyle {
        PlaceholderStyle::QuestionNumbered
    }

    fn quote_ident(&self, name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    fn fence(&self) -> &'static str {
        // The query flattener never flattens a subquery that has an OFFSET.
        " LIMIT -1 OFFSET 0"
    }

    fn system_columns(&self) -> &'static [&'static str] {
        &["rowid", "_rowid_", "oid"]
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

    fn error_is_safe_to_show(&self, code: &str, message: &str) -> bool {
        // SQLite gives one code to every statement error; only these messages quote no data.
        code == "SQLITE_ERROR"
            && ["no such ", "near ", "ambiguous column"].iter().any(|p| message.starts_with(p))
    }

    fn mask_dialect(&self) -> MaskDialect {
        MaskDialect::Sqlite
    }

    fn telemetry_name(&self) -> &'static str {
        "sqlite"
    }
}

impl MaskRules for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn string_literal(&self, _: &str, doubled: &str) -> String {
        format!("'{doubled}'")
    }

    fn char_len(&self, c: &str) -> String {
        format!("length({c})")
    }

    fn stars(&self, n: &str) -> String {
        // No `repeat`: a zero blob of `n` bytes is `2n` hex zeros, each `00` pair one `*`.
        format!("replace(hex(zeroblob({n})), '00', '*')")
    }

    fn left(&self, c: &str, n: u32) -> String {
        format!("substr({c}, 1, {n})")
    }

    fn right(&self, c: &str, n: u32) -> String {
        // `substr(c, -n)` would return the whole string for `n = 0`.
        format!("substr({c}, length({c}) - {n} + 1)")
    }

    fn after_at(&self, c: &str) -> String {
        format!("substr({c}, instr({c}, '@') + 1)")
    }

    fn concat(&self, parts: &[&str]) -> String {
        parts.join(" || ")
    }

    fn empty_bytes(&self) -> &'static str {
        "X''"
    }

    fn constant(&self, class: ColumnType, canonical: &str, quoted: &str) -> String {
        match class {
            ColumnType::Integer | ColumnType::Decimal | ColumnType::Float => canonical.to_owned(),
            ColumnType::Bool => (if canonical == "true" { "1" } else { "0" }).into(),
            ColumnType::Text
            | ColumnType::Date
            | ColumnType::Timestamp
            | ColumnType::Json
            | ColumnType::Jsonb
            | ColumnType::Bytes
            | ColumnType::Other => quoted.to_owned(),
        }
    }

    fn round(&self, _: ColumnType, c: &str, places: u16) -> String {
        format!("round({c}, {places})")
    }

    fn floor_to(&self, c: &str, width: &str) -> String {
        // floor() needs the optional math functions; floor by hand. A width with a decimal
        // point keeps the division in floating point.
        let w = if width.contains('.') { width.to_owned() } else { format!("{width}.0") };
        let q = format!("({c} / {w})");
        format!("((CAST({q} AS INTEGER) - ({q} < CAST({q} AS INTEGER))) * {w})")
    }

    fn keyed_hash(&self, _: &str, _: &str, _: &str) -> Result<String, &'static str> {
        // Refused rather than faked with something reversible.
        Err("SQLite has no built-in hash function")
    }

    fn truncate(&self, unit: Unit, c: &str, date: bool) -> String {
        // Dates are text; the date functions normalise to `YYYY-MM-DD` and
        // `YYYY-MM-DD HH:MM:SS`.
        let f = if date { "date" } else { "datetime" };
        match unit {
            Unit::Year => format!("{f}({c}, 'start of year')"),
            Unit::Quarter => format!(
                "{f}({c}, 'start of month', '-' || ((CAST(strftime('%m', {c}) AS INTEGER) - 1) % 3) || ' months')"
            ),
            Unit::Month => format!("{f}({c}, 'start of month')"),
            // Back six days, then forward to the next Monday: the Monday on or before the date.
            Unit::Week => format!("{f}({c}, 'start of day', '-6 days', 'weekday 1')"),
            Unit::Day => format!("{f}({c}, 'start of day')"),
            Unit::Hour | Unit::Minute if date => format!("date({c})"),
            Unit::Hour => format!("strftime('%Y-%m-%d %H:00:00', {c})"),
            Unit::Minute => format!("strftime('%Y-%m-%d %H:%M:00', {c})"),
        }
    }

    fn json_redact(&self, m: &Mask<'_>, keys: &[String], _: bool) -> Result<String, MaskError> {
        let paths = crate::rewrite::mask::dates::json_paths(m, keys)?;
        Ok(format!("json_remove({}, {})", m.column(), paths.join(", ")))
    }
}
