//! Catalog introspection against the local PostgreSQL (127.0.0.1:5432, trust auth, user
//! `postgres`, database `sluice_test`, or `SLUICE_TEST_PG_URL`). Each test works in its own
//! schema and drops it.

// Test helpers outside `#[test]` functions may panic too (clippy.toml only covers the tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use sluice_core::execute::Connector as _;
use sluice_postgres::{PostgresConnector, PostgresOptions};

mod common;

use common::{Schema, admin, url};

fn rel(schema: Option<&str>, name: &str) -> sluice_core::analyse::RelationName {
    sluice_core::analyse::RelationName { schema: schema.map(str::to_owned), name: name.to_owned() }
}

#[tokio::test]
async fn catalog_lists_tables_and_views_and_resolves_names() {
    use sluice_core::execute::RelationKind;
    let s = Schema::new().await;
    admin()
        .await
        .batch_execute(&format!(
            "CREATE TABLE {0}.t (id int4 PRIMARY KEY, name text NOT NULL, amount numeric(10, 2),
               tags varchar(5)[], at timestamptz, big int8 NOT NULL DEFAULT 0);
             CREATE VIEW {0}.v AS SELECT id, name FROM {0}.t;",
            s.name
        ))
        .await
        .unwrap();
    let sep = if url().contains('?') { '&' } else { '?' };
    let mut opts = PostgresOptions::new(format!("{}{sep}options=-c%20search_path%3D{}", url(), s.name));
    opts.pool_size = 1;
    let c = PostgresConnector::new(opts).unwrap();
    let catalog = c.catalog().await.unwrap();
    assert_eq!(catalog.search_path, vec![s.name.clone()]);

    let (key, t) = catalog.resolve(&rel(None, "t")).unwrap();
    assert_eq!(key, &rel(Some(&s.name), "t"));
    assert_eq!(t.kind, RelationKind::Table);
    let cols: Vec<(&str, &str, bool)> =
        t.columns.iter().map(|c| (c.name.as_str(), c.type_name.as_str(), c.nullable)).collect();
    assert_eq!(
        cols,
        vec![
            ("id", "int4", false),
            ("name", "text", false),
            ("amount", "numeric", true),
            ("tags", "text[]", true),
            ("at", "timestamptz", true),
            ("big", "int8", false),
        ]
    );

    let (_, v) = catalog.resolve(&rel(Some(&s.name), "v")).unwrap();
    assert_eq!(v.kind, RelationKind::View);
    let cols: Vec<(&str, &str)> = v.columns.iter().map(|c| (c.name.as_str(), c.type_name.as_str())).collect();
    assert_eq!(cols, vec![("id", "int4"), ("name", "text")]);
    assert_eq!(catalog.columns_of(&rel(None, "v")).map(<[_]>::len), Some(2));

    assert!(catalog.resolve(&rel(None, "missing")).is_none());
    assert!(catalog.resolve(&rel(Some("public"), "t")).is_none());
    assert!(catalog.resolve(&rel(None, "T")).is_none(), "names are compared as already folded");
    assert!(catalog.relations.keys().all(|k| k.schema.as_deref() != Some("pg_catalog")));
}
