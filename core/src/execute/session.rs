//! Per-request database session state: the role a statement runs as and the transaction-local
//! settings it sees, and how one request's [`Session`] is decided.
//!
//! This is how a datasource in PostgreSQL native row-level-security mode (`rls = "native"`)
//! hands the caller's identity to the database's own policies, the way PostgREST does: the
//! connector runs `SET LOCAL ROLE` and `set_config(key, value, true)` inside the statement's
//! transaction, so nothing survives its commit or rollback.

use std::collections::BTreeMap;

use super::SessionSupport;
use crate::analyse::{Access, StatementFacts};
use crate::auth::Principal;
use crate::error::Error;
use crate::policy::{ChainOutcome, Denial, FailureKind};

/// The prefix of every setting Sluice sets: custom settings in their own namespace, so neither a
/// plugin nor the configuration can touch a server setting (`role`, `search_path`, ...).
pub const SETTING_PREFIX: &str = "sluice.";

/// The setting that carries the principal's id in native mode.
pub const PRINCIPAL_SETTING: &str = "sluice.principal";

/// PostgreSQL truncates longer identifiers silently, which could name a different role.
const MAX_ROLE_BYTES: usize = 63;

/// The database session one statement runs in: a role and transaction-local settings, both
/// undone when the statement's transaction ends. Plain data; [`Session::NONE`] changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    /// The role to run as (PostgreSQL `SET LOCAL ROLE`, MySQL `SET ROLE` undone after the
    /// statement), if any. The login role must be a member of it.
    pub role: Option<String>,
    /// `(name, value)` settings applied with `set_config(name, value, true)`, in order. Names
    /// are `sluice.<identifier>`.
    pub settings: Vec<(String, String)>,
}

impl Session {
    /// No role, no settings: the statement runs as the login role.
    pub const NONE: Session = Session { role: None, settings: Vec::new() };

    /// True when the session changes nothing.
    pub fn is_empty(&self) -> bool {
        self.role.is_none() && self.settings.is_empty()
    }

    /// Checks what a connector splices or binds: the role is a non-empty name of at most 63
    /// bytes without NUL, setting names are non-empty without NUL, and no value holds NUL.
    /// Connectors call this before applying a session, as defence in depth.
    ///
    /// # Errors
    /// What is wrong, safe to show the caller (names, never values).
    pub fn check(&self) -> Result<(), String> {
        if let Some(role) = &self.role {
            check_role(role)?;
        }
        for (name, value) in &self.settings {
            if name.is_empty() || name.contains('\0') {
                return Err(format!("setting name {name:?} is empty or contains NUL"));
            }
            if value.contains('\0') {
                return Err(format!("the value of setting {name:?} contains NUL"));
            }
        }
        Ok(())
    }
}

/// How a datasource enforces row-level restrictions. Validated from `rls`, `rls_role` and
/// `rls_attributes` in `[datasources.<name>]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RlsMode {
    /// Row filters from policy plugins are applied by rewriting the statement.
    #[default]
    Rewrite,
    /// PostgreSQL only: every statement runs as `role` with the principal's attributes set as
    /// `sluice.<attribute>`, and the database's own row-level-security policies filter.
    Native {
        /// The role statements run as unless a plugin asks for another.
        role: String,
        /// The attributes forwarded, each required of every principal; `None` forwards every
        /// attribute the principal has (and requires none).
        attributes: Option<Vec<String>>,
    },
}

/// What the policy chain asked of the session, copied out of its [`ChainOutcome`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionAsk {
    /// `(plugin, key, value)`, in chain order.
    pub settings: Vec<(String, String, String)>,
    /// `(plugin, role)`.
    pub role: Option<(String, String)>,
}

impl SessionAsk {
    /// The session settings and role in `outcome`.
    pub fn of(outcome: &ChainOutcome) -> Self {
        SessionAsk { settings: outcome.session_settings.clone(), role: outcome.role.clone() }
    }
}

/// Why a session could not be set up for a request. Each is a refusal: the statement never runs
/// without the session its datasource or policy requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionRefusal {
    /// Native mode forwards an attribute the principal does not have.
    #[error(
        "it enforces row-level security in the database and needs the caller's attribute \
         {0:?}, which this caller does not have"
    )]
    MissingAttribute(String),
    /// An attribute value cannot be sent to the database.
    #[error("the caller's attribute {0:?} contains a NUL character")]
    InvalidAttribute(String),
    /// The statement could change the session it runs in, and so escape it.
    #[error("the statement {0}, which could change the database session its row-level security depends on")]
    ChangesSession(&'static str),
}

/// True for `[a-z_][a-z0-9_]*`: a name that makes `sluice.<name>` a valid custom setting.
pub fn is_simple_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Checks a role name: non-empty, at most 63 bytes, no NUL.
///
/// # Errors
/// What is wrong with it.
pub fn check_role(role: &str) -> Result<(), String> {
    if role.is_empty() || role.contains('\0') {
        return Err(format!("role {role:?} is empty or contains NUL"));
    }
    if role.len() > MAX_ROLE_BYTES {
        return Err(format!("role {role:?} is longer than {MAX_ROLE_BYTES} bytes"));
    }
    Ok(())
}

/// Decides the session one statement runs in on datasource `datasource`.
///
/// - `rls` native: `sluice.<attribute>` for each configured attribute (one the principal lacks
///   refuses the request), or each attribute the principal has whose name is a simple
///   identifier when none are configured; `sluice.principal` = the principal's id; the role a
///   plugin asked for, else the configured one.
/// - Plugin settings must be named `sluice.<identifier>` and may not override what native mode
///   sets; plugins that disagree on a value are denied, like plugins that disagree on a role.
/// - `supported` is the connector's [`Connector::session_support`](super::Connector): a plugin
///   asking for settings or a role the connector cannot apply makes the statement unenforceable.
/// - A non-empty session refuses statements that call `set_config` or write `pg_settings`:
///   either could change the session mid-statement.
///
/// # Errors
/// [`Error::PolicyUnenforceable`], [`Error::PolicyDenied`] (a plugin's malformed or conflicting
/// request) or [`Error::SessionRefused`].
pub fn session_for(
    datasource: &str,
    rls: &RlsMode,
    supported: SessionSupport,
    principal: &Principal,
    ask: &SessionAsk,
    facts: &StatementFacts,
) -> Result<Session, Error> {
    let refused = |reason| Error::SessionRefused { datasource: datasource.to_string(), reason };
    let unenforceable = |plugin: &str, what| Error::PolicyUnenforceable {
        datasource: datasource.to_string(),
        plugin: plugin.to_string(),
        what,
    };
    if let (false, Some((plugin, ..))) = (supported.settings, ask.settings.first()) {
        return Err(unenforceable(plugin, "session settings"));
    }
    if let (false, Some((plugin, _))) = (supported.role, &ask.role) {
        return Err(unenforceable(plugin, "a database role"));
    }

    // Settings by name, each with the plugin that set it (`None`: native mode).
    let mut settings: BTreeMap<String, (Option<&str>, String)> = BTreeMap::new();
    let mut role = None;
    if let RlsMode::Native { role: configured, attributes } = rls {
        role = Some(configured.clone());
        let forwarded: Vec<(&str, Option<&String>)> = match attributes {
            Some(names) => names.iter().map(|n| (n.as_str(), principal.attributes.get(n))).collect(),
            None => principal
                .attributes
                .iter()
                .filter(|(name, _)| {
                    is_simple_identifier(name) && format!("{SETTING_PREFIX}{name}") != PRINCIPAL_SETTING
                })
                .map(|(name, value)| (name.as_str(), Some(value)))
                .collect(),
        };
        for (name, value) in forwarded {
            let value = value.ok_or_else(|| refused(SessionRefusal::MissingAttribute(name.to_string())))?;
            if value.contains('\0') {
                return Err(refused(SessionRefusal::InvalidAttribute(name.to_string())));
            }
            settings.insert(format!("{SETTING_PREFIX}{name}"), (None, value.clone()));
        }
        settings.insert(PRINCIPAL_SETTING.to_string(), (None, principal.id.clone()));
    }

    let malformed = |plugin: &str, reason: String| {
        Error::PolicyDenied(vec![Denial {
            plugin: plugin.to_string(),
            reason,
            failure: Some(FailureKind::MalformedVerdict),
        }])
    };
    for (plugin, key, value) in &ask.settings {
        let name = key.strip_prefix(SETTING_PREFIX).unwrap_or_default();
        if !is_simple_identifier(name) {
            return Err(malformed(
                plugin,
                format!("it asks for session setting {key:?}; plugins may set only `sluice.<name>` settings"),
            ));
        }
        if value.contains('\0') {
            return Err(malformed(plugin, format!("its value for session setting {key:?} contains NUL")));
        }
        match settings.get(key) {
            None => {
                settings.insert(key.clone(), (Some(plugin.as_str()), value.clone()));
            }
            Some((_, existing)) if existing == value => {}
            Some((None, _)) => {
                return Err(malformed(
                    plugin,
                    format!("it asks for session setting {key:?}, which the datasource's native mode sets"),
                ));
            }
            Some((Some(earlier), _)) => {
                return Err(Error::PolicyDenied(vec![Denial {
                    plugin: plugin.clone(),
                    reason: format!(
                        "it sets session setting {key:?} to a different value than plugin `{earlier}` does"
                    ),
                    failure: None,
                }]));
            }
        }
    }
    if let Some((plugin, asked)) = &ask.role {
        check_role(asked).map_err(|reason| malformed(plugin, reason))?;
        role = Some(asked.clone());
    }

    let session =
        Session { role, settings: settings.into_iter().map(|(name, (_, value))| (name, value)).collect() };
    if !session.is_empty() {
        check_statement(facts).map_err(refused)?;
    }
    Ok(session)
}

/// Refuses statements that could change their own session. `set_config` is the only SQL-callable
/// way to change a setting or the role (`SET` and `RESET` are refused by the analyser), and an
/// UPDATE of the `pg_settings` view calls it through a rule.
fn check_statement(facts: &StatementFacts) -> Result<(), SessionRefusal> {
    let calls_set_config = facts.functions.iter().any(|f| {
        f.rsplit('.').next().is_some_and(|name| name.trim_matches('"').eq_ignore_ascii_case("set_config"))
    });
    if calls_set_config {
        return Err(SessionRefusal::ChangesSession("calls set_config"));
    }
    let writes_settings = facts.relations.iter().any(|r| {
        r.access == Access::Write && r.relation.name.trim_matches('"').eq_ignore_ascii_case("pg_settings")
    });
    if writes_settings {
        return Err(SessionRefusal::ChangesSession("writes pg_settings"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::{Dialect, analyse};

    fn principal(attributes: &[(&str, &str)]) -> Principal {
        Principal {
            id: "alice".into(),
            roles: vec![],
            attributes: attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    fn facts(sql: &str) -> StatementFacts {
        analyse(Dialect::Postgres, sql).unwrap().facts
    }

    fn native(attributes: Option<&[&str]>) -> RlsMode {
        RlsMode::Native {
            role: "app_rls".into(),
            attributes: attributes.map(|a| a.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn ask(settings: &[(&str, &str, &str)], role: Option<(&str, &str)>) -> SessionAsk {
        SessionAsk {
            settings: settings
                .iter()
                .map(|(p, k, v)| (p.to_string(), k.to_string(), v.to_string()))
                .collect(),
            role: role.map(|(p, r)| (p.to_string(), r.to_string())),
        }
    }

    fn pairs(s: &[(&str, &str)]) -> Vec<(String, String)> {
        s.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn rewrite_mode_without_plugin_requests_is_empty() {
        let s = session_for(
            "app",
            &RlsMode::Rewrite,
            SessionSupport::FULL,
            &principal(&[("tenant_id", "1")]),
            &ask(&[], None),
            &facts("SELECT 1"),
        )
        .unwrap();
        assert!(s.is_empty());
        // Without a session, set_config is not Sluice's concern.
        let s = session_for(
            "app",
            &RlsMode::Rewrite,
            SessionSupport::NONE,
            &principal(&[]),
            &ask(&[], None),
            &facts("SELECT set_config('a.b', 'c', true)"),
        )
        .unwrap();
        assert_eq!(s, Session::NONE);
    }

    #[test]
    fn native_mode_forwards_configured_attributes_principal_and_role() {
        let p = principal(&[("tenant_id", "7"), ("region", "eu"), ("other", "x")]);
        let s = session_for(
            "app",
            &native(Some(&["tenant_id", "region"])),
            SessionSupport::FULL,
            &p,
            &ask(&[], None),
            &facts("SELECT 1"),
        )
        .unwrap();
        assert_eq!(s.role.as_deref(), Some("app_rls"));
        assert_eq!(
            s.settings,
            pairs(&[("sluice.principal", "alice"), ("sluice.region", "eu"), ("sluice.tenant_id", "7")])
        );
    }

    #[test]
    fn native_mode_by_default_forwards_every_identifier_attribute() {
        let p = principal(&[("tenant_id", "7"), ("Team-Name", "x"), ("principal", "mallory")]);
        let s =
            session_for("app", &native(None), SessionSupport::FULL, &p, &ask(&[], None), &facts("SELECT 1"))
                .unwrap();
        assert_eq!(s.settings, pairs(&[("sluice.principal", "alice"), ("sluice.tenant_id", "7")]));
    }

    #[test]
    fn native_mode_refuses_a_principal_without_a_configured_attribute() {
        let p = principal(&[("region", "eu")]);
        let err = session_for(
            "app",
            &native(Some(&["tenant_id"])),
            SessionSupport::FULL,
            &p,
            &ask(&[], None),
            &facts("SELECT 1"),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::SessionRefused { reason: SessionRefusal::MissingAttribute(a), .. } if a == "tenant_id"),
            "{err}"
        );
        assert!(err.to_string().contains("tenant_id"), "{err}");
        assert_eq!(err.code(), crate::ErrorCode::PolicyDenied);

        let p = principal(&[("tenant_id", "1\0")]);
        let err =
            session_for("app", &native(None), SessionSupport::FULL, &p, &ask(&[], None), &facts("SELECT 1"))
                .unwrap_err();
        assert!(
            matches!(err, Error::SessionRefused { reason: SessionRefusal::InvalidAttribute(_), .. }),
            "{err}"
        );
    }

    #[test]
    fn plugin_settings_and_role_are_honoured_where_supported() {
        let a = ask(&[("tenancy", "sluice.tenant_id", "3")], Some(("tenancy", "reporting")));
        let s = session_for(
            "app",
            &RlsMode::Rewrite,
            SessionSupport::FULL,
            &principal(&[]),
            &a,
            &facts("SELECT 1"),
        )
        .unwrap();
        assert_eq!(s.role.as_deref(), Some("reporting"));
        assert_eq!(s.settings, pairs(&[("sluice.tenant_id", "3")]));
        // In native mode a plugin's role replaces the configured one.
        let a = ask(&[("tenancy", "sluice.level", "2")], Some(("tenancy", "auditor")));
        let s = session_for(
            "app",
            &native(Some(&[])),
            SessionSupport::FULL,
            &principal(&[]),
            &a,
            &facts("SELECT 1"),
        )
        .unwrap();
        assert_eq!(s.role.as_deref(), Some("auditor"));
        assert_eq!(s.settings, pairs(&[("sluice.level", "2"), ("sluice.principal", "alice")]));
    }

    #[test]
    fn plugin_requests_are_unenforceable_where_unsupported() {
        let a = ask(&[("tenancy", "sluice.tenant_id", "3")], None);
        let err = session_for(
            "app",
            &RlsMode::Rewrite,
            SessionSupport::NONE,
            &principal(&[]),
            &a,
            &facts("SELECT 1"),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::PolicyUnenforceable { plugin, what: "session settings", .. } if plugin == "tenancy")
        );
        let a = ask(&[], Some(("roles", "r")));
        let err = session_for(
            "app",
            &RlsMode::Rewrite,
            SessionSupport::NONE,
            &principal(&[]),
            &a,
            &facts("SELECT 1"),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::PolicyUnenforceable { plugin, what: "a database role", .. } if plugin == "roles")
        );
    }

    #[test]
    fn plugin_settings_outside_the_sluice_namespace_are_refused_naming_the_plugin() {
        for key in [
            "role",
            "search_path",
            "statement_timeout",
            "sluice.",
            "sluice.a.b",
            "sluice.Tenant",
            "SLUICE.x",
            "sluicex",
        ] {
            let a = ask(&[("bad", key, "v")], None);
            let err = session_for(
                "app",
                &RlsMode::Rewrite,
                SessionSupport::FULL,
                &principal(&[]),
                &a,
                &facts("SELECT 1"),
            )
            .unwrap_err();
            let Error::PolicyDenied(denials) = &err else { panic!("{key}: {err}") };
            assert_eq!(denials[0].plugin, "bad");
            assert_eq!(denials[0].failure, Some(FailureKind::MalformedVerdict));
            assert!(err.to_string().contains("`bad`"), "{err}");
        }
    }

    #[test]
    fn plugins_cannot_override_native_settings_or_disagree() {
        let p = principal(&[("tenant_id", "1")]);
        let a = ask(&[("sneaky", "sluice.tenant_id", "2")], None);
        let err =
            session_for("app", &native(None), SessionSupport::FULL, &p, &a, &facts("SELECT 1")).unwrap_err();
        assert!(err.to_string().contains("`sneaky`") && err.to_string().contains("native"), "{err}");
        // Repeating the same value is harmless.
        let a = ask(&[("same", "sluice.tenant_id", "1")], None);
        assert!(session_for("app", &native(None), SessionSupport::FULL, &p, &a, &facts("SELECT 1")).is_ok());

        let a = ask(&[("a", "sluice.x", "1"), ("b", "sluice.x", "2")], None);
        let err = session_for("app", &RlsMode::Rewrite, SessionSupport::FULL, &p, &a, &facts("SELECT 1"))
            .unwrap_err();
        let Error::PolicyDenied(denials) = &err else { panic!("{err}") };
        assert_eq!(denials[0].plugin, "b");
        assert!(err.to_string().contains("`a`"), "{err}");
    }

    #[test]
    fn plugin_roles_are_checked() {
        for role in ["", "a\0b", &"r".repeat(64)] {
            let a = ask(&[], Some(("roles", role)));
            let err = session_for(
                "app",
                &RlsMode::Rewrite,
                SessionSupport::FULL,
                &principal(&[]),
                &a,
                &facts("SELECT 1"),
            )
            .unwrap_err();
            assert!(matches!(err, Error::PolicyDenied(_)), "{role:?}: {err}");
        }
    }

    #[test]
    fn statements_that_could_change_the_session_are_refused() {
        let p = principal(&[("tenant_id", "1")]);
        for sql in [
            "SELECT set_config('sluice.tenant_id', '2', true)",
            "SELECT * FROM t WHERE pg_catalog.set_config('role', 'postgres', true) IS NOT NULL",
            "WITH x AS (SELECT SET_CONFIG('sluice.tenant_id', '2', true)) SELECT * FROM x, t",
            "UPDATE pg_settings SET setting = '2' WHERE name = 'sluice.tenant_id'",
            "UPDATE pg_catalog.pg_settings SET setting = 'postgres' WHERE name = 'role'",
        ] {
            let err =
                session_for("app", &native(None), SessionSupport::FULL, &p, &ask(&[], None), &facts(sql))
                    .unwrap_err();
            assert!(
                matches!(err, Error::SessionRefused { reason: SessionRefusal::ChangesSession(_), .. }),
                "{sql}: {err}"
            );
        }
        assert!(
            session_for(
                "app",
                &native(None),
                SessionSupport::FULL,
                &p,
                &ask(&[], None),
                &facts("SELECT name FROM pg_settings")
            )
            .is_ok()
        );
    }

    #[test]
    fn session_check_rejects_what_a_connector_cannot_send() {
        assert!(Session::NONE.check().is_ok());
        let ok = Session { role: Some("we\"ird role".into()), settings: pairs(&[("sluice.a", "1")]) };
        assert!(ok.check().is_ok());
        for bad in [
            Session { role: Some(String::new()), settings: vec![] },
            Session { role: Some("a\0".into()), settings: vec![] },
            Session { role: Some("r".repeat(64)), settings: vec![] },
            Session { role: None, settings: pairs(&[("", "1")]) },
            Session { role: None, settings: pairs(&[("sluice.\0", "1")]) },
            Session { role: None, settings: pairs(&[("sluice.a", "\0")]) },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn simple_identifiers() {
        for good in ["tenant_id", "_x", "a1"] {
            assert!(is_simple_identifier(good), "{good}");
        }
        for bad in ["", "1a", "Tenant", "a-b", "a.b", "a b", "é"] {
            assert!(!is_simple_identifier(bad), "{bad}");
        }
    }
}
