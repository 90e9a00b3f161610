//! PostgreSQL.

use super::{
    ColumnType, Mask, MaskDialect, MaskError, MaskRules, Placeholder, PlaceholderStyle, RelationName, Rules,
    Unit, ident_text, numbered, starts_with_ignore_case,
};

/// PostgreSQL's rules.
pub(crate) struct Postgres;

/// Table functions that read nothing but their arguments.
const TABLE_FUNCTIONS: &[&str] = &[
    "generate_series",
    "generate_subscripts",
    "unnest",
    "json_each",
    "json_each_text",
    "jsonb_each",
    "jsonb_each_text",
    "json_array_elements",
    "json_array_elements_text",
    "jsonb_array_elements",
    "jsonb_array_elements_text",
    "json_object_keys",
    "jsonb_object_keys",
    "json_to_record",
    "json_to_recordset",
    "jsonb_to_record",
    "jsonb_to_recordset",
    "jsonb_path_query",
    "regexp_matches",
    "regexp_split_to_table",
    "string_to_table",
];

/// Object-identifier types whose input function looks a name up in the catalog.
const REG_TYPES: &[&str] = &[
    "regclass",
    "regcollation",
    "regconfig",
    "regdictionary",
    "regnamespace",
    "regoper",
    "regoperator",
    "regproc",
    "regprocedure",
    "regrole",
    "regtype",
];

/// Functions safe over protected relations, beyond the common list.
const SAFE_FUNCTIONS: &[&str] = &[
    "array",
    "date_trunc",
    "date_part",
    "extract",
    "strpos",
    "initcap",
    "btrim",
    "string_agg",
    "array_agg",
    "row_to_json",
    "to_json",
    "to_jsonb",
    "json_build_object",
    "jsonb_build_object",
    "json_agg",
    "jsonb_agg",
    "bool_and",
    "bool_or",
    "every",
    "generate_series",
    "unnest",
];

/// Functions that read relations named in a string, run SQL text, read files or statistics.
const HIDDEN_READS: &[&str] = &[
    "query_to_xml",
    "query_to_xml_and_xmlschema",
    "query_to_xmlschema",
    "table_to_xml",
    "table_to_xml_and_xmlschema",
    "table_to_xmlschema",
    "schema_to_xml",
    "schema_to_xml_and_xmlschema",
    "schema_to_xmlschema",
    "database_to_xml",
    "database_to_xml_and_xmlschema",
    "database_to_xmlschema",
    "cursor_to_xml",
    "cursor_to_xmlschema",
    "ts_stat",
    "ts_rewrite",
    "dblink",
    "dblink_exec",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "lo_import",
    "lo_export",
    "lo_get",
    "pg_relation_size",
    "pg_total_relation_size",
    "pg_table_size",
    "pg_stat_get_live_tuples",
    "pg_stat_get_tuples_inserted",
    "pg_get_viewdef",
    "currtid2",
    // Name look-ups: whether a relation exists, what it is, who may read it.
    "to_regclass",
    "to_regcollation",
    "to_regnamespace",
    "to_regoper",
    "to_regoperator",
    "to_regproc",
    "to_regprocedure",
    "to_regrole",
    "to_regtype",
    "to_regtypemod",
    "obj_description",
    "col_description",
    "shobj_description",
];

/// The longest name PostgreSQL keeps, in bytes (`NAMEDATALEN - 1`): it cuts longer names, quoted
/// or not, so two spellings that agree on their first 63 bytes are one name to it.
const NAME_BYTES: usize = 63;

/// PostgreSQL's rule: only ASCII letters fold (multi-byte characters are kept in UTF-8), and
/// the name is cut to [`NAME_BYTES`] at a character boundary, as `pg_mbcliplen` does.
fn name(ident: &sqlparser::ast::Ident) -> String {
    let mut name =
        if ident.quote_style.is_some() { ident_text(ident) } else { ident.value.to_ascii_lowercase() };
    if name.len() > NAME_BYTES {
        let mut end = NAME_BYTES;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    name
}

impl Rules for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn parser(&self) -> &'static dyn sqlparser::dialect::Dialect {
        &sqlparser::dialect::PostgreSqlDialect {}
    }

    fn relation_ident(&self, ident: &sqlparser::ast::Ident) -> String {
        name(ident)
    }

    fn column_key(&self, name: &str) -> String {
        name.to_owned()
    }

    fn column_ident(&self, ident: &sqlparser::ast::Ident) -> String {
        name(ident)
    }

    fn table_functions(&self) -> (&'static [&'static str], &'static str) {
        (TABLE_FUNCTIONS, "pg_catalog")
    }

    fn is_catalog_lookup_type(&self, name: &str) -> bool {
        name.starts_with("reg") && REG_TYPES.contains(&name)
    }

    fn is_system_relation(&self, relation: &RelationName) -> bool {
        // Unqualified `pg_*` names too: `pg_catalog` is searched first.
        match relation.schema.as_deref() {
            Some(schema) => starts_with_ignore_case(schema, "pg_") || schema == "information_schema",
            None => starts_with_ignore_case(&relation.name, "pg_"),
        }
    }

    fn is_pseudo_relation(&self, _: &RelationName) -> bool {
        false
    }

    fn accepts_nul_in_text(&self) -> bool {
        false
    }

    fn has_dml_modifiers(&self) -> bool {
        false
    }

    fn reads_ident_as_parsed(&self, _: &sqlparser::ast::Ident) -> bool {
        true
    }

    fn placeholder(&self, token: &str) -> Option<Placeholder> {
        token.strip_prefix('$').and_then(numbered)
    }

    fn placeholder_style(&self) -> PlaceholderStyle {
        PlaceholderStyle::Dollar
    }

    fn quote_ident(&self, name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    fn fence(&self) -> &'static str {
        // The planner never pulls a subquery with OFFSET up into its parent.
        " OFFSET 0"
    }

    fn system_columns(&self) -> &'static [&'static str] {
        &["ctid", "xmin", "xmax", "cmin", "cmax", "tableoid", "oid"]
    }

    fn safe_functions(&self) -> &'static [&'static str] {
        SAFE_FUNCTIONS
    }

    fn unqualified_function<'f>(&self, function: &'f str) -> &'f str {
        function.strip_prefix("pg_catalog.").unwrap_or(function)
    }

    fn reads_hidden(&self, function: &str) -> bool {
        // `pg_*` functions are the system and statistics interface (`pg_stat_get_activity`
        // shows other sessions' statement text, literals included): all of them.
        HIDDEN_READS.contains(&function)
            || function.starts_with("dblink")
            || function.starts_with("pg_")
            || (function.starts_with("has_") && function.ends_with("_privilege"))
    }

    fn error_is_safe_to_show(&self, code: &str, _: &str) -> bool {
        // SQLSTATE classes: syntax and access rules, unsupported features, rollbacks,
        // resources, operator intervention.
        ["42", "0A", "40", "53", "57"].iter().any(|class| code.starts_with(class))
    }

    fn mask_dialect(&self) -> MaskDialect {
        MaskDialect::Postgres
    }

    fn telemetry_name(&self) -> &'static str {
        "postgresql"
    }
}

impl MaskRules for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn string_literal(&self, raw: &str, doubled: &str) -> String {
        // `E'…'` when a backslash is present, so the text means the same whatever
        // `standard_conforming_strings` says.
        if raw.contains('\\') {
            format!("E'{}'", doubled.replace('\\', "\\\\"))
        } else {
            format!("'{doubled}'")
        }
    }

    fn char_len(&self, c: &str) -> String {
        format!("char_length({c})")
    }

    fn stars(&self, n: &str) -> String {
        format!("repeat('*', {n})")
    }

    fn left(&self, c: &str, n: u32) -> String {
        format!("left({c}, {n})")
    }

    fn right(&self, c: &str, n: u32) -> String {
        format!("right({c}, {n})")
    }

    fn after_at(&self, c: &str) -> String {
        format!("substr({c}, strpos({c}, '@') + 1)")
    }

    fn concat(&self, parts: &[&str]) -> String {
        parts.join(" || ")
    }

    fn empty_bytes(&self) -> &'static str {
        // An untyped '' takes the column's type: an empty bytea.
        "''"
    }

    fn constant(&self, _: ColumnType, _: &str, quoted: &str) -> String {
        // An untyped literal resolves to the column's exact type (`varchar(20)`,
        // `numeric(10,2)`, `jsonb`...).
        quoted.to_owned()
    }

    fn round(&self, class: ColumnType, c: &str, places: u16) -> String {
        match class {
            // Rounding to n places exists only for numeric; cast there and back.
            ColumnType::Float => format!("CAST(round(CAST({c} AS numeric), {places}) AS double precision)"),
            _ => format!("round({c}, {places})"),
        }
    }

    fn floor_to(&self, c: &str, width: &str) -> String {
        format!("(floor({c} / {width}) * {width})")
    }

    fn keyed_hash(&self, c: &str, ipad: &str, opad: &str) -> Result<String, &'static str> {
        Ok(format!(
            "encode(sha256(decode('{opad}', 'hex') || sha256(decode('{ipad}', 'hex') || \
             convert_to({c}, 'UTF8'))), 'hex')"
        ))
    }

    fn truncate(&self, unit: Unit, c: &str, date: bool) -> String {
        // date_trunc returns timestamp for a date: cast back. For timestamp / timestamptz it
        // returns the input's own type.
        match date {
            true => format!("CAST(date_trunc('{}', {c}) AS date)", unit.keyword()),
            false => format!("date_trunc('{}', {c})", unit.keyword()),
        }
    }

    fn json_redact(&self, m: &Mask<'_>, keys: &[String], jsonb: bool) -> Result<String, MaskError> {
        let c = m.column();
        let keys = keys.iter().map(|k| m.literal(k)).collect::<Result<Vec<_>, _>>()?;
        // jsonb - text[] removes top-level keys; a json column is converted and converted back
        // (json and jsonb do not mix implicitly, so the type must come back as it was).
        let source = if jsonb { c.to_string() } else { format!("CAST({c} AS jsonb)") };
        let removed = format!("({source} - CAST(ARRAY[{}] AS text[]))", keys.join(", "));
        Ok(if jsonb { removed } else { format!("CAST({removed} AS json)") })
    }
}
