//! Helpers shared by this crate's integration tests: the test database and a schema per test.

#![allow(clippy::unwrap_used, dead_code)]

/// `SLUICE_TEST_PG_URL`, default the database `tests/run` creates.
pub fn url() -> String {
    std::env::var("SLUICE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/sluice_test".into())
}

pub async fn admin() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

/// A schema that is dropped when the test ends.
pub struct Schema {
    pub name: String,
}

impl Schema {
    pub async fn new() -> Schema {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        admin().await.batch_execute(&format!("CREATE SCHEMA {name}")).await.unwrap();
        Schema { name }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        cleanup(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// Runs `sql` as the administrator from a `Drop`, which cannot await: on a thread of its own,
/// so that it also works inside a test's runtime. Errors are ignored (best-effort cleanup).
pub fn cleanup(sql: String) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let _ = admin().await.batch_execute(&sql).await;
        });
    })
    .join()
    .unwrap();
}
