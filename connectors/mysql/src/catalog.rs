//! Catalog introspection for MySQL / MariaDB.

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable as _;
use sluice_core::analyse::RelationName;
use sluice_core::execute::{Catalog, CatalogColumn, ExecError, NameFolding, RelationInfo, RelationKind};

/// The current database and how the server compares table names.
const CURRENT: &str = "SELECT DATABASE(), @@lower_case_table_names";

/// Every column of every table and view of the current database, in column order.
const COLUMNS: &str = "SELECT c.TABLE_NAME, t.TABLE_TYPE, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE,
       c.IS_NULLABLE
  FROM information_schema.COLUMNS c
  JOIN information_schema.TABLES t
    ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
 WHERE c.TABLE_SCHEMA = DATABASE()
 ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION";

type ColumnRow = (String, String, String, String, String, String);

/// Reads the catalog of the connection's current database (empty, with an empty search path,
/// when the connection has none). With `lower_case_table_names` 1 or 2 names are stored
/// lower-cased and looked up lower-cased.
pub(crate) async fn read(conn: &mut mysql_async::Conn) -> Result<Catalog, ExecError> {
    let map = |e: mysql_async::Error| crate::errors::map(&e, std::time::Duration::ZERO);
    let current: Option<(Option<String>, u64)> = conn.query_first(CURRENT).await.map_err(map)?;
    let Some((Some(database), lower_case)) = current else {
        return Ok(Catalog::default());
    };
    let folding = if lower_case == 0 { NameFolding::Exact } else { NameFolding::Lower };
    let rows: Vec<ColumnRow> = conn.query(COLUMNS).await.map_err(map)?;
    let schema = folding.fold(&database);
    let mut relations: BTreeMap<RelationName, RelationInfo> = BTreeMap::new();
    for (table, table_type, column, data_type, column_type, nullable) in rows {
        let kind = if table_type == "VIEW" { RelationKind::View } else { RelationKind::Table };
        relations
            .entry(RelationName { schema: Some(schema.clone()), name: folding.fold(&table) })
            .or_insert_with(|| RelationInfo { kind, columns: Vec::new() })
            .columns
            .push(CatalogColumn {
                name: column,
                type_name: type_name(&data_type, &column_type),
                nullable: nullable == "YES",
            });
    }
    Ok(Catalog { relations, search_path: vec![schema], folding })
}

/// Sluice's name for a column type, as the connector decodes it, or the database's own
/// `DATA_TYPE` when Sluice has none. MariaDB reports its JSON alias as `longtext`.
fn type_name(data_type: &str, column_type: &str) -> String {
    let data_type = data_type.to_ascii_lowercase();
    let unsigned = column_type.to_ascii_lowercase().contains("unsigned");
    let sluice = match data_type.as_str() {
        "tinyint" | "year" => "int2",
        "smallint" if !unsigned => "int2",
        "smallint" | "mediumint" => "int4",
        "int" | "integer" if !unsigned => "int4",
        "int" | "integer" => "int8",
        "bigint" if !unsigned => "int8",
        "bigint" | "decimal" | "numeric" => "numeric",
        "float" => "float4",
        "double" | "real" => "float8",
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" => "text",
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "bit" => "bytes",
        "json" => "json",
        "date" => "date",
        "time" => "time",
        "datetime" => "timestamp",
        "timestamp" => "timestamptz",
        _ => return data_type,
    };
    sluice.to_owned()
}

#[cfg(test)]
mod tests {
    use super::type_name;

    #[test]
    fn types_map_to_sluice_names() {
        assert_eq!(type_name("int", "int(11)"), "int4");
        assert_eq!(type_name("int", "int(10) unsigned"), "int8");
        assert_eq!(type_name("bigint", "bigint(20) unsigned"), "numeric");
        assert_eq!(type_name("smallint", "smallint(5) unsigned"), "int4");
        assert_eq!(type_name("geometry", "geometry"), "geometry");
    }
}
