//! Requests with a [`Session`]: the role and settings hold for exactly one statement's
//! transaction and never reach the next request on the pooled connection.
//! Against the local PostgreSQL, like `postgres.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::time::Duration;

use sluice_core::execute::{
    Cancel, Connector, ExecError, ExecRequest, Limits, Mode, ResultSet, Session, Value,
};
use sluice_postgres::{PostgresConnector, PostgresOptions};

mod common;

use common::{admin, url};

/// A NOLOGIN role private to one test (roles are cluster-wide), dropped when the test ends.
struct TestRole {
    name: String,
}

impl TestRole {
    async fn new(prefix: &str) -> TestRole {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        admin().await.batch_execute(&format!("CREATE ROLE {quoted} NOLOGIN")).await.unwrap();
        TestRole { name }
    }
}

impl Drop for TestRole {
    fn drop(&mut self) {
        common::cleanup(format!("DROP ROLE IF EXISTS \"{}\"", self.name.replace('"', "\"\"")));
    }
}

/// One connection, so every request reuses the previous request's connection.
fn connector() -> PostgresConnector {
    let mut opts = PostgresOptions::new(url());
    opts.pool_size = 1;
    opts.application_name = "sluice-test-session".into();
    opts.connect_timeout = Duration::from_secs(2);
    PostgresConnector::new(opts).unwrap()
}

async fn run(
    c: &PostgresConnector,
    sql: &str,
    mode: Mode,
    session: &Session,
) -> Result<ResultSet, ExecError> {
    let limits = Limits { statement_timeout: Duration::from_secs(5), max_rows: 100 };
    c.execute(ExecRequest { sql, params: &[], mode, limits, session, cancel: &Cancel::NEVER }).await
}

const WHO: &str = "SELECT pg_backend_pid()::int8, current_user::text, \
                   current_setting('sluice.tenant_id', true), current_setting('sluice.principal', true)";

/// `(backend pid, current_user, sluice.tenant_id, sluice.principal)`, the settings `None` when
/// unset or empty (a placeholder setting reads as empty once its transaction has ended).
async fn who(c: &PostgresConnector, session: &Session) -> (i64, String, Option<String>, Option<String>) {
    let rs = run(c, WHO, Mode::Read, session).await.unwrap();
    let text = |v: &Value| match v {
        Value::Text(s) if !s.is_empty() => Some(s.clone()),
        Value::Text(_) | Value::Null => None,
        other => panic!("{other:?}"),
    };
    let row = &rs.rows[0];
    let Value::Int8(pid) = row[0] else { panic!("{row:?}") };
    (pid, text(&row[1]).unwrap(), text(&row[2]), text(&row[3]))
}

fn session(role: &str, tenant: &str) -> Session {
    Session {
        role: Some(role.into()),
        settings: vec![
            ("sluice.tenant_id".into(), tenant.into()),
            ("sluice.principal".into(), "alice".into()),
        ],
    }
}

#[tokio::test]
async fn session_applies_to_its_statement_and_never_leaks_to_the_next() {
    let role = TestRole::new("sluice_rls").await;
    let c = connector();
    let (pid0, login, tenant, principal) = who(&c, &Session::NONE).await;
    assert_eq!((tenant, principal), (None, None));
    assert_ne!(login, role.name);

    let (pid, user, tenant, principal) = who(&c, &session(&role.name, "7")).await;
    assert_eq!(pid, pid0, "the pool of one reuses its connection");
    assert_eq!(user, role.name);
    assert_eq!((tenant.as_deref(), principal.as_deref()), (Some("7"), Some("alice")));

    // The next request on the same connection runs as the login role with nothing set.
    assert_eq!(who(&c, &Session::NONE).await, (pid0, login.clone(), None, None));

    // A write in the session commits; the session still ends with it.
    run(&c, "SELECT 1", Mode::Write, &session(&role.name, "8")).await.unwrap();
    assert_eq!(who(&c, &Session::NONE).await, (pid0, login.clone(), None, None));

    // A statement that fails rolls back its transaction, and the session with it.
    let err = run(&c, "SELECT 1 / 0", Mode::Read, &session(&role.name, "9")).await.unwrap_err();
    assert!(matches!(&err, ExecError::Upstream { code: Some(c), .. } if c == "22012"), "{err:?}");
    assert_eq!(who(&c, &Session::NONE).await, (pid0, login, None, None));
}

#[tokio::test]
async fn a_settings_only_session_keeps_the_login_role() {
    let c = connector();
    let (_, login, ..) = who(&c, &Session::NONE).await;
    let only =
        Session { role: None, settings: vec![("sluice.tenant_id".into(), "x'; DROP TABLE t; --".into())] };
    let (_, user, tenant, _) = who(&c, &only).await;
    assert_eq!(user, login);
    // Values are bound, never spliced.
    assert_eq!(tenant.as_deref(), Some("x'; DROP TABLE t; --"));
}

#[tokio::test]
async fn role_names_are_quoted_as_identifiers() {
    let role = TestRole::new("Sluice \"odd\"; role").await;
    let c = connector();
    let (_, user, ..) = who(&c, &Session { role: Some(role.name.clone()), settings: vec![] }).await;
    assert_eq!(user, role.name);
}

#[tokio::test]
async fn an_unknown_role_is_an_upstream_error_and_the_connection_recovers() {
    let c = connector();
    let missing =
        Session { role: Some(format!("no_such_role_{}", uuid::Uuid::new_v4().simple())), settings: vec![] };
    let err = run(&c, WHO, Mode::Read, &missing).await.unwrap_err();
    assert!(matches!(&err, ExecError::Upstream { code: Some(c), .. } if c == "22023"), "{err:?}");
    let (_, _, tenant, _) = who(&c, &Session::NONE).await;
    assert_eq!(tenant, None);
}

#[tokio::test]
async fn malformed_sessions_are_refused_before_the_database_sees_them() {
    let c = connector();
    for bad in [
        Session { role: Some(String::new()), settings: vec![] },
        Session { role: Some("a\0b".into()), settings: vec![] },
        Session { role: None, settings: vec![(String::new(), "1".into())] },
        Session { role: None, settings: vec![("sluice.a\0".into(), "1".into())] },
        Session { role: None, settings: vec![("sluice.a".into(), "1\0".into())] },
    ] {
        let err = run(&c, "SELECT 1", Mode::Read, &bad).await.unwrap_err();
        assert!(matches!(err, ExecError::Session(_)), "{bad:?}: {err:?}");
    }
}
