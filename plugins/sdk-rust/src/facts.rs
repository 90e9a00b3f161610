//! Helpers for reading the facts of a [`Query`]: who asks, what the statement touches.
//!
//! Every name comparison here is exact: the host has already normalised identifiers by the
//! dialect's case rules (PostgreSQL folds unquoted names to lower case, so `Orders` arrives as
//! `orders` but `"Orders"` stays `Orders`).

use core::fmt;

use crate::{Access, Dialect, Grant, Principal, Query, Relation, Statement, StatementKind};

impl Principal {
    /// The value of the attribute `name` (e.g. `tenant_id`), if the principal has it.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether the principal holds the role `role` (exact comparison).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the principal holds at least one of `roles`.
    pub fn has_any_role<'a>(&self, roles: impl IntoIterator<Item = &'a str>) -> bool {
        roles.into_iter().any(|r| self.has_role(r))
    }
}

impl Relation {
    /// A relation named `name` in `schema`.
    pub fn new(schema: Option<&str>, name: &str) -> Self {
        Relation { schema: schema.map(str::to_owned), name: name.to_owned() }
    }

    /// Splits `"schema.name"` at its last dot; a name without a dot has no schema.
    ///
    /// This is for names written in configuration; names with dots inside an identifier
    /// cannot be expressed this way (build them with [`Relation::new`]).
    pub fn parse(qualified: &str) -> Self {
        match qualified.rsplit_once('.') {
            Some((schema, name)) => Relation::new(Some(schema), name),
            None => Relation::new(None, qualified),
        }
    }

    /// Whether this is `schema.name`; `schema: None` matches the name in any schema (or none).
    pub fn is(&self, schema: Option<&str>, name: &str) -> bool {
        self.name == name && schema.is_none_or(|s| self.schema.as_deref() == Some(s))
    }
}

/// `schema.name`, or `name` when the statement named no schema.
impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl Statement {
    /// Whether the statement touches `schema.name` with `access` (`None`: either access).
    ///
    /// `schema: None` matches the name in any schema, including relations the statement
    /// named without one.
    pub fn touches(&self, schema: Option<&str>, name: &str, access: Option<Access>) -> bool {
        self.relations.iter().any(|ra| ra.relation.is(schema, name) && access.is_none_or(|a| ra.access == a))
    }

    /// Relations the statement reads, in the host's (sorted) order.
    pub fn reads(&self) -> impl Iterator<Item = &Relation> {
        self.relations.iter().filter(|ra| ra.access == Access::Read).map(|ra| &ra.relation)
    }

    /// Relations the statement writes (INSERT, UPDATE, DELETE targets, DDL objects).
    pub fn writes(&self) -> impl Iterator<Item = &Relation> {
        self.relations.iter().filter(|ra| ra.access == Access::Write).map(|ra| &ra.relation)
    }

    /// Every relation the statement touches, each once (a relation read and written appears once).
    pub fn relations(&self) -> impl Iterator<Item = &Relation> {
        let mut seen: Vec<&Relation> = Vec::with_capacity(self.relations.len());
        self.relations.iter().filter_map(move |ra| {
            if seen.contains(&&ra.relation) {
                None
            } else {
                seen.push(&ra.relation);
                Some(&ra.relation)
            }
        })
    }

    /// Whether this is a DDL statement (CREATE, ALTER, DROP, TRUNCATE, ...).
    pub fn is_ddl(&self) -> bool {
        self.kind == StatementKind::Ddl
    }

    /// Whether the statement changes data or schema (anything but a read).
    pub fn is_write(&self) -> bool {
        self.kind != StatementKind::Read
    }

    /// Whether the statement calls the function `name` (lower-case).
    pub fn calls(&self, name: &str) -> bool {
        self.functions.iter().any(|f| f == name)
    }
}

impl StatementKind {
    /// The kind's WIT name: `read`, `insert`, `update`, `delete`, `ddl` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatementKind::Read => "read",
            StatementKind::Insert => "insert",
            StatementKind::Update => "update",
            StatementKind::Delete => "delete",
            StatementKind::Ddl => "ddl",
            StatementKind::Other => "other",
        }
    }
}

impl Dialect {
    /// The dialect's WIT name: `postgres`, `mysql`, `sqlite` or `mssql`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
            Dialect::Sqlite => "sqlite",
            Dialect::Mssql => "mssql",
        }
    }
}

impl Access {
    /// `read` or `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

impl Grant {
    /// Whether the grant is still valid at `now_ms` (milliseconds since the Unix epoch).
    pub fn is_live(&self, now_ms: u64) -> bool {
        self.expires_at_ms > now_ms
    }
}

impl Query {
    /// The value of the extension `key`, a fact added by a newer host without a contract change.
    pub fn extension(&self, key: &str) -> Option<&str> {
        self.extensions.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The first grant with exactly `scope` that is live at `now_ms`.
    ///
    /// Scopes look like `fingerprint:<hex>`, `relation:<schema.name>`, `role:<name>`.
    pub fn live_grant(&self, scope: &str, now_ms: u64) -> Option<&Grant> {
        self.grants.iter().find(|g| g.scope == scope && g.is_live(now_ms))
    }

    /// A live grant approving this very statement (scope `fingerprint:<statement fingerprint>`),
    /// as issued when a human approved an earlier `require-approval` verdict for it.
    pub fn live_fingerprint_grant(&self, now_ms: u64) -> Option<&Grant> {
        let fingerprint = &self.statement.fingerprint;
        self.grants.iter().find(|g| {
            g.is_live(now_ms) && g.scope.strip_prefix("fingerprint:").is_some_and(|f| f == fingerprint)
        })
    }

    /// The principal's roles plus the roles of live `role:<name>` grants (temporary roles).
    pub fn effective_roles(&self, now_ms: u64) -> Vec<&str> {
        let mut roles: Vec<&str> = self.principal.roles.iter().map(String::as_str).collect();
        for grant in self.grants.iter().filter(|g| g.is_live(now_ms)) {
            if let Some(role) = grant.scope.strip_prefix("role:")
                && !roles.contains(&role)
            {
                roles.push(role);
            }
        }
        roles
    }
}

#[cfg(test)]
mod tests {
    use crate::{
        Access, Datasource, Dialect, Grant, Principal, Query, Relation, RelationAccess, Request, Statement,
        StatementKind,
    };

    fn query() -> Query {
        let ra = |name: &str, access| RelationAccess { relation: Relation::parse(name), access };
        Query {
            principal: Principal {
                id: "alice".into(),
                roles: vec!["analyst".into()],
                attributes: vec![("tenant_id".into(), "7".into())],
            },
            datasource: Datasource { name: "app".into(), dialect: Dialect::Postgres },
            statement: Statement {
                kind: StatementKind::Insert,
                relations: vec![
                    ra("orders", Access::Write),
                    ra("public.customers", Access::Read),
                    ra("public.orders", Access::Read),
                    ra("orders", Access::Read),
                ],
                columns: Vec::new(),
                functions: vec!["now".into()],
                unrestricted_writes: Vec::new(),
                limit: None,
                fingerprint: "abc".into(),
                text: String::new(),
            },
            request: Request {
                client_address: None,
                justification: None,
                received_at_ms: 0,
                trace_id: "t".into(),
            },
            grants: vec![
                Grant {
                    id: "g1".into(),
                    scope: "fingerprint:abc".into(),
                    expires_at_ms: 100,
                    approved_by: Vec::new(),
                    properties: Vec::new(),
                },
                Grant {
                    id: "g2".into(),
                    scope: "role:dba".into(),
                    expires_at_ms: 50,
                    approved_by: Vec::new(),
                    properties: Vec::new(),
                },
            ],
            extensions: vec![("x".into(), "1".into())],
        }
    }

    #[test]
    fn principal_and_extensions() {
        let q = query();
        assert_eq!(q.principal.attribute("tenant_id"), Some("7"));
        assert_eq!(q.principal.attribute("nope"), None);
        assert!(q.principal.has_role("analyst") && !q.principal.has_role("Analyst"));
        assert!(q.principal.has_any_role(["dba", "analyst"]));
        assert_eq!(q.extension("x"), Some("1"));
    }

    #[test]
    fn statement_helpers() {
        let s = query().statement;
        assert!(s.touches(None, "orders", Some(Access::Write)));
        assert!(s.touches(Some("public"), "orders", Some(Access::Read)));
        assert!(!s.touches(Some("public"), "orders", Some(Access::Write)));
        assert!(s.touches(Some("public"), "customers", None));
        assert!(!s.touches(None, "Orders", None));
        assert_eq!(s.writes().map(ToString::to_string).collect::<Vec<_>>(), ["orders"]);
        assert_eq!(s.reads().count(), 3);
        assert_eq!(s.relations().count(), 3, "orders is read and written but listed once");
        assert!(s.is_write() && !s.is_ddl() && s.calls("now"));
        assert_eq!(Relation::parse("a.b.c").schema.as_deref(), Some("a.b"));
    }

    #[test]
    fn grants_expire() {
        let q = query();
        assert_eq!(q.live_fingerprint_grant(99).map(|g| g.id.as_str()), Some("g1"));
        assert!(q.live_fingerprint_grant(100).is_none());
        assert_eq!(q.effective_roles(10), ["analyst", "dba"]);
        assert_eq!(q.effective_roles(50), ["analyst"]);
        assert!(q.live_grant("role:dba", 49).is_some());
    }
}
