//! Catalog introspection for SQLite.

use std::collections::BTreeMap;

use rusqlite::Connection;
use sluice_core::analyse::RelationName;
use sluice_core::execute::{Catalog, CatalogColumn, ExecError, NameFolding, RelationInfo, RelationKind};

/// Tables and views of the main database, without SQLite's internal tables.
const RELATIONS: &str = "SELECT name, type FROM sqlite_schema
 WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";

/// The columns of one relation, in order.
const COLUMNS: &str = "SELECT name, type, \"notnull\" FROM pragma_table_info(?1, 'main') ORDER BY cid";

/// Reads the catalog of the `main` database. Names are stored ASCII-lower-cased, as SQLite
/// compares them; column types follow the connector's declared-type rules (no declared type:
/// `text`). `nullable` is what the declaration says (an `INTEGER PRIMARY KEY` reads as nullable
/// although it never holds NULL).
pub(crate) fn read(conn: &Connection) -> Result<Catalog, ExecError> {
    let map = |e| crate::errors::map(e, std::time::Duration::ZERO);
    let mut list = conn.prepare(RELATIONS).map_err(map)?;
    let found = list
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
        .map_err(map)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(map)?;
    let mut columns = conn.prepare(COLUMNS).map_err(map)?;
    let mut relations = BTreeMap::new();
    for (name, kind) in found {
        let cols = columns
            .query_map([&name], |row| {
                let declared: String = row.get(1)?;
                let declared = Some(declared.as_str()).filter(|d| !d.is_empty());
                Ok(CatalogColumn {
                    name: row.get(0)?,
                    type_name: crate::decode::Decoder::Declared(crate::decode::declared(declared))
                        .type_name()
                        .to_owned(),
                    nullable: row.get::<_, i64>(2)? == 0,
                })
            })
            .map_err(map)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(map)?;
        let kind = if kind == "view" { RelationKind::View } else { RelationKind::Table };
        relations.insert(
            RelationName { schema: Some("main".to_owned()), name: name.to_ascii_lowercase() },
            RelationInfo { kind, columns: cols },
        );
    }
    Ok(Catalog { relations, search_path: vec!["main".to_owned()], folding: NameFolding::AsciiLower })
}
