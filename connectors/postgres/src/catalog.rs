//! Catalog introspection for PostgreSQL.

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_core::analyse::RelationName;
use sluice_core::execute::{Catalog, CatalogColumn, ExecError, NameFolding, RelationInfo, RelationKind};

/// Every column of every table, view and materialized view the connection can see, outside
/// the system schemas. `information_schema` lists only relations the current user has some
/// privilege on, and no materialized views (they are not in the SQL standard): those come from
/// `pg_catalog`, with the same columns. Domain columns report their base type in `udt_name`.
const COLUMNS: &str = "SELECT schema_name, table_name, table_type, column_name, data_type, udt_name,
       nullable, is_enum
  FROM (SELECT c.table_schema::text AS schema_name, c.table_name::text AS table_name,
               t.table_type::text AS table_type, c.column_name::text AS column_name,
               c.data_type::text AS data_type, c.udt_name::text AS udt_name,
               c.is_nullable::text = 'YES' AS nullable,
               EXISTS (SELECT 1 FROM pg_catalog.pg_type ty
                       JOIN pg_catalog.pg_namespace tn ON tn.oid = ty.typnamespace
                       WHERE ty.typname = c.udt_name AND tn.nspname = c.udt_schema
                         AND ty.typtype = 'e') AS is_enum,
               c.ordinal_position::int AS position
          FROM information_schema.columns c
          JOIN information_schema.tables t
            ON t.table_schema = c.table_schema AND t.table_name = c.table_name
         WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema')
        UNION ALL
        SELECT n.nspname::text, c.relname::text, 'MATERIALIZED VIEW', a.attname::text,
               CASE WHEN t.typcategory = 'A' THEN 'ARRAY' ELSE '' END,
               (CASE WHEN t.typtype = 'd' THEN b.typname ELSE t.typname END)::text,
               NOT a.attnotnull, b.typtype = 'e', a.attnum::int
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
          JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
         WHERE c.relkind = 'm' AND pg_catalog.has_table_privilege(c.oid, 'SELECT')
           AND n.nspname NOT IN ('pg_catalog', 'information_schema')) columns
 ORDER BY schema_name, table_name, position";

/// The schemas unqualified names resolve in (existing ones only, without implicit `pg_catalog`).
const SEARCH_PATH: &str = "SELECT current_schemas(false)::text[]";

/// Reads the catalog with `client` (both queries pipelined); `timeout` only labels errors.
pub(crate) async fn read(client: &tokio_postgres::Client, timeout: Duration) -> Result<Catalog, ExecError> {
    let map = |e: tokio_postgres::Error| crate::errors::map(&e, timeout);
    let (rows, path) =
        tokio::try_join!(client.query(COLUMNS, &[]), client.query_one(SEARCH_PATH, &[])).map_err(map)?;
    let search_path: Vec<String> = path.try_get(0).map_err(map)?;
    let mut relations: BTreeMap<RelationName, RelationInfo> = BTreeMap::new();
    for row in rows {
        let schema: String = row.try_get(0).map_err(map)?;
        let name: String = row.try_get(1).map_err(map)?;
        let table_type: String = row.try_get(2).map_err(map)?;
        let data_type: String = row.try_get(4).map_err(map)?;
        let udt: String = row.try_get(5).map_err(map)?;
        let is_enum: bool = row.try_get(7).map_err(map)?;
        let column = CatalogColumn {
            name: row.try_get(3).map_err(map)?,
            type_name: if is_enum { "text".to_owned() } else { type_name(&data_type, &udt) },
            nullable: row.try_get(6).map_err(map)?,
        };
        let kind = if table_type.ends_with("VIEW") { RelationKind::View } else { RelationKind::Table };
        relations
            .entry(RelationName { schema: Some(schema), name })
            .or_insert_with(|| RelationInfo { kind, columns: Vec::new() })
            .columns
            .push(column);
    }
    Ok(Catalog { relations, search_path, folding: NameFolding::Exact })
}

/// Sluice's name for a column type (`udt_name` is the base type's name; arrays start with `_`),
/// as the connector decodes it, or PostgreSQL's own name when Sluice has none.
fn type_name(data_type: &str, udt: &str) -> String {
    if data_type == "ARRAY"
        && let Some(element) = udt.strip_prefix('_')
    {
        return format!("{}[]", type_name("", element));
    }
    let sluice = match udt {
        "bool" => "bool",
        "int2" => "int2",
        "int4" => "int4",
        "int8" | "oid" => "int8",
        "float4" => "float4",
        "float8" => "float8",
        "numeric" => "numeric",
        "money" => "money",
        "text" | "varchar" | "bpchar" | "name" | "citext" | "char" | "xml" | "inet" | "cidr" => "text",
        "bytea" => "bytes",
        "uuid" => "uuid",
        "json" => "json",
        "jsonb" => "jsonb",
        "date" => "date",
        "time" => "time",
        "timestamp" => "timestamp",
        "timestamptz" => "timestamptz",
        "interval" => "interval",
        other => other,
    };
    sluice.to_owned()
}

#[cfg(test)]
mod tests {
    use super::type_name;

    #[test]
    fn types_map_to_sluice_names() {
        assert_eq!(type_name("integer", "int4"), "int4");
        assert_eq!(type_name("character varying", "varchar"), "text");
        assert_eq!(type_name("ARRAY", "_int8"), "int8[]");
        assert_eq!(type_name("USER-DEFINED", "point"), "point");
    }
}
