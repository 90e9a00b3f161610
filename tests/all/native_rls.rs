//! PostgreSQL native row-level security (`rls = "native"`): the database's own policies filter,
//! fed by `SET LOCAL ROLE` and `sluice.<attribute>` settings; and its configuration rules.

use serde_json::json;

use crate::harness::{KEY, KEY_TENANT_2, PgSchema, Sluice, TempDir, base_toml, unique};

/// A table whose policy keys on `current_setting('sluice.tenant_id', true)`, forced on its owner
/// too, and a NOLOGIN role without BYPASSRLS that may use it.
const SETUP: &str = "
    CREATE TABLE docs (id int PRIMARY KEY, tenant_id text NOT NULL, body text);
    INSERT INTO docs VALUES (1, '1', 'one'), (2, '1', 'two'), (3, '2', 'three');
    ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
    ALTER TABLE docs FORCE ROW LEVEL SECURITY;
    CREATE POLICY tenant ON docs
        USING (tenant_id = current_setting('sluice.tenant_id', true))
        WITH CHECK (tenant_id = current_setting('sluice.tenant_id', true));
";

/// The test's schema and its role (cluster-wide, so uniquely named and dropped at the end).
struct Fixture {
    schema: PgSchema,
    role: String,
}

impl Fixture {
    async fn new() -> Fixture {
        let schema = PgSchema::new(SETUP).await;
        let role = unique("sluice_rls");
        schema
            .client
            .batch_execute(&format!(
                "CREATE ROLE {role} NOLOGIN NOBYPASSRLS;
                 GRANT USAGE ON SCHEMA {s} TO {role};
                 GRANT SELECT, INSERT, UPDATE, DELETE ON {s}.docs TO {role};",
                s = schema.name
            ))
            .await
            .unwrap();
        Fixture { schema, role }
    }

    async fn sluice(&self, attributes: &str) -> Sluice {
        let extra = format!("pool_size = 1\nrls = \"native\"\nrls_role = \"{}\"\n{attributes}", self.role);
        Sluice::with_datasource(&self.schema.datasource(&extra)).await
    }

    async fn drop(self) {
        self.schema
            .client
            .batch_execute(&format!(
                "DROP SCHEMA {} CASCADE; DROP OWNED BY {role}; DROP ROLE {role}",
                self.schema.name,
                role = self.role
            ))
            .await
            .unwrap();
    }
}

async fn ids(sluice: &Sluice, key: &str) -> Vec<i64> {
    let body = json!({"datasource": "app", "sql": "SELECT id FROM docs ORDER BY id"});
    let (status, body) = sluice.post(Some(key), body.to_string()).await;
    assert_eq!(status, 200, "{body}");
    body["rows"].as_array().unwrap().iter().map(|r| r[0].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn each_tenant_sees_and_writes_only_its_rows() {
    let f = Fixture::new().await;
    let sluice = f.sluice("rls_attributes = [\"tenant_id\"]").await;
    assert_eq!(ids(&sluice, KEY).await, [1, 2]);
    assert_eq!(ids(&sluice, KEY_TENANT_2).await, [3]);

    // The statement runs as the configured role, with the principal's id and attribute set.
    let who = sluice
        .ok("SELECT current_user::text, current_setting('sluice.principal'), current_setting('sluice.tenant_id')", json!([]))
        .await;
    assert_eq!(who["rows"][0], json!([f.role, "tester", "1"]));

    // Writing one's own rows works; the WITH CHECK clause refuses another tenant's.
    let inserted = sluice.ok("INSERT INTO docs VALUES (4, '1', 'four')", json!([])).await;
    assert_eq!(inserted["rows_affected"], 1);
    let message = sluice.err("INSERT INTO docs VALUES (5, '2', 'five')", json!([]), "upstream_error").await;
    assert!(message.contains("42501"), "{message}");
    let message =
        sluice.err("UPDATE docs SET tenant_id = '2' WHERE id = 1", json!([]), "upstream_error").await;
    assert!(message.contains("42501"), "{message}");
    // Another tenant's rows are invisible to writes too.
    let deleted = sluice.ok("DELETE FROM docs WHERE id = 3", json!([])).await;
    assert_eq!(deleted["rows_affected"], 0);
    assert_eq!(ids(&sluice, KEY).await, [1, 2, 4]);
    assert_eq!(ids(&sluice, KEY_TENANT_2).await, [3]);
    drop(sluice);
    f.drop().await;
}

#[tokio::test]
async fn statements_that_could_change_the_session_are_refused() {
    let f = Fixture::new().await;
    let sluice = f.sluice("").await;
    for sql in [
        "SELECT set_config('sluice.tenant_id', '2', true), id FROM docs",
        "SELECT id FROM docs WHERE pg_catalog.set_config('role', 'postgres', true) IS NOT NULL",
        "UPDATE pg_settings SET setting = '2' WHERE name = 'sluice.tenant_id'",
    ] {
        let message = sluice.err(sql, json!([]), "policy_denied").await;
        assert!(message.contains("session"), "{sql}: {message}");
    }
    assert_eq!(ids(&sluice, KEY).await, [1, 2]);
    drop(sluice);
    f.drop().await;
}

#[tokio::test]
async fn a_caller_without_a_required_attribute_is_refused() {
    let f = Fixture::new().await;
    // The default test principals have `tenant_id` only.
    let sluice = f.sluice("rls_attributes = [\"tenant_id\", \"region\"]").await;
    let message = sluice.err("SELECT id FROM docs", json!([]), "policy_denied").await;
    assert!(message.contains("\"region\""), "{message}");
    drop(sluice);
    f.drop().await;
}

fn problems(datasource: &str) -> String {
    let dir = TempDir::new();
    let toml = format!("{}\n[datasources.app]\n{datasource}\n", base_toml());
    sluice_core::config::parse(&toml, &dir.path().join("sluice.toml"), |_| None)
        .err()
        .expect("invalid configuration")
        .to_string()
}

#[test]
fn native_mode_configuration_mistakes_are_reported_with_their_keys() {
    let pg = "kind = \"postgres\"\nurl = \"postgres://u@localhost/db\"\n";
    let report = problems("kind = \"sqlite\"\npath = \"t.db\"\nrls = \"native\"\nrls_role = \"r\"\n");
    assert!(
        report.contains("datasources.app.rls: \"native\" row-level security needs a postgres"),
        "{report}"
    );

    let report = problems(&format!("{pg}rls = \"native\"\n"));
    assert!(report.contains("datasources.app.rls_role: required"), "{report}");

    let report = problems(&format!(
        "{pg}rls = \"native\"\nrls_role = \"\"\nrls_attributes = [\"tenant_id\", \"Tenant-Id\", \"principal\", \"tenant_id\"]\n"
    ));
    for expected in [
        "datasources.app.rls_role: role \"\" is empty",
        "datasources.app.rls_attributes[1]: \"Tenant-Id\" is not a lower-case identifier",
        "datasources.app.rls_attributes[2]: \"principal\" is reserved",
        "datasources.app.rls_attributes[3]: \"tenant_id\" is listed twice",
    ] {
        assert!(report.contains(expected), "{expected} missing from:\n{report}");
    }
    assert!(!report.contains("rls_attributes[0]"), "{report}");

    let report = problems(&format!("{pg}rls = \"database\"\nrls_role = \"r\"\n"));
    assert!(report.contains("datasources.app.rls: \"database\" is neither"), "{report}");
    let report = problems(&format!("{pg}rls_role = \"r\"\nrls_attributes = []\n"));
    assert!(report.contains("datasources.app.rls_role: only datasources with rls = \"native\""), "{report}");
    assert!(report.contains("datasources.app.rls_attributes: only"), "{report}");

    let ok = format!("{}\n[datasources.app]\n{pg}rls = \"native\"\nrls_role = \"app_rls\"\n", base_toml());
    let dir = TempDir::new();
    let config = sluice_core::config::parse(&ok, &dir.path().join("sluice.toml"), |_| None).unwrap();
    assert_eq!(
        config.datasources["app"].rls,
        sluice_core::execute::RlsMode::Native { role: "app_rls".into(), attributes: None }
    );
}

#[test]
fn the_readme_example_configuration_is_valid() {
    let readme = std::fs::read_to_string(crate::harness::repo().join("README.md")).unwrap();
    let section = &readme[readme.find("### PostgreSQL native RLS mode").unwrap()..];
    let block = &section[section.find("```toml\n").unwrap() + 8..];
    let block = &block[..block.find("```").unwrap()];
    let dir = TempDir::new();
    let toml = format!("{}\n{block}", base_toml());
    let config = sluice_core::config::parse(&toml, &dir.path().join("sluice.toml"), |_| None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.datasources["app"].rls,
        sluice_core::execute::RlsMode::Native {
            role: "app_rls".into(),
            attributes: Some(vec!["tenant_id".into()])
        }
    );
}
