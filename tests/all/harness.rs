//! Starting Sluice against real databases and talking to it over its HTTP API.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use sluice_core::gateway::Gateway;
use tower::ServiceExt as _;

/// The API key every test configuration accepts.
pub const KEY: &str = "sk_test_key_for_sluice_end_to_end_tests";
/// A key for tenant 2.
pub const KEY_TENANT_2: &str = "sk_test_key_for_tenant_two";
/// An SQLite `[datasources.app]` body: a fresh, empty database file.
pub const SQLITE: &str = "kind = \"sqlite\"\npath = \"t.db\"\nbootstrap = [\"init.sql\"]\n";
/// The HS256 secret every test configuration accepts for JWTs.
pub const JWT_SECRET: &str = "test-secret-of-at-least-thirty-two-bytes!!";

pub fn pg_admin_url() -> String {
    std::env::var("SLUICE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/sluice_test".into())
}

pub fn mysql_admin_url() -> String {
    std::env::var("SLUICE_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/sluice_test".into())
}

/// A unique lower-case name for a test's schema or database.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// The `[server]` and `[auth]` sections every test configuration starts with.
pub fn base_toml() -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
max_body_bytes = 65536
max_sql_bytes = 8192

[[auth.api_keys]]
id = "tester"
hash = "{}"
roles = ["analyst"]
attributes = {{ tenant_id = "1" }}

[[auth.api_keys]]
id = "tester2"
hash = "{}"
roles = ["analyst"]
attributes = {{ tenant_id = "2" }}

[auth.jwt]
issuer = "https://idp.test"
audience = ["sluice"]
algorithms = ["HS256"]
hs256_secret = "{JWT_SECRET}"
[auth.jwt.attributes]
tenant_id = "tenant"
"#,
        sluice_core::auth::hash_api_key(KEY),
        sluice_core::auth::hash_api_key(KEY_TENANT_2),
    )
}

/// A running Sluice, driven in-process through its router.
pub struct Sluice {
    pub app: Router,
    pub gateway: Arc<Gateway>,
    /// Keeps temporary files (SQLite databases) alive as long as the instance.
    _dir: Option<TempDir>,
}

impl Sluice {
    /// Starts Sluice from configuration text, as if the file lived in `dir`.
    pub async fn start(toml: &str, dir: &Path) -> Sluice {
        let config = sluice_core::config::parse(toml, &dir.join("sluice.toml"), |_| None)
            .unwrap_or_else(|e| panic!("test configuration is invalid: {e}"));
        let gateway = sluice::build_gateway(config).await.expect("gateway");
        Sluice { app: sluice_core::http::app(Arc::clone(&gateway)), gateway, _dir: None }
    }

    /// Starts Sluice with one datasource `app` described by `datasource` (the body of a
    /// `[datasources.app]` table) plus any extra TOML.
    pub async fn with_datasource(datasource: &str) -> Sluice {
        let dir = TempDir::new();
        // An empty bootstrap script lets SQLite datasources (`SQLITE`) create their file.
        std::fs::write(dir.path().join("init.sql"), "-- empty database\n").unwrap();
        let toml = format!("{}\n[datasources.app]\n{datasource}\n", base_toml());
        let mut sluice = Sluice::start(&toml, dir.path()).await;
        sluice._dir = Some(dir);
        sluice
    }

    /// POSTs `body` to `/v1/query` with `token`; returns status and JSON body.
    pub async fn post(&self, token: Option<&str>, body: impl Into<Body>) -> (StatusCode, Value) {
        let mut request = Request::post("/v1/query").header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(request.body(body.into()).unwrap()).await
    }

    /// Runs `sql` with `params` on datasource `app` as the default test principal.
    pub async fn query(&self, sql: &str, params: Value) -> (StatusCode, Value) {
        let body = json!({"datasource": "app", "sql": sql, "params": params});
        self.post(Some(KEY), body.to_string()).await
    }

    /// Runs `sql` and asserts success; returns the response body.
    pub async fn ok(&self, sql: &str, params: Value) -> Value {
        let (status, body) = self.query(sql, params).await;
        assert_eq!(status, StatusCode::OK, "{sql}: {body}");
        body
    }

    /// Runs `sql` and asserts it fails with `code`; returns the error message.
    pub async fn err(&self, sql: &str, params: Value, code: &str) -> String {
        let (status, body) = self.query(sql, params).await;
        assert_error(status, &body, code);
        body["error"]["message"].as_str().unwrap().to_string()
    }

    /// GETs `path`.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    /// Sends `method path` with `token` and a JSON `body` (none when `None`).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        self.send(request).await
    }

    /// Sends `request` to the router; returns status and JSON body.
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("non-JSON response {status}: {}", String::from_utf8_lossy(&bytes)));
        (status, body)
    }
}

/// Asserts an error response: its status matches `code`'s documented status, and it carries a
/// message and a 32-hex-digit trace id.
pub fn assert_error(status: StatusCode, body: &Value, code: &str) {
    let expected = sluice_core::ErrorCode::ALL
        .into_iter()
        .find(|c| c.as_str() == code)
        .unwrap_or_else(|| panic!("{code} is not a documented code"));
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(status.as_u16(), expected.status(), "{body}");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    let trace = body["error"]["trace_id"].as_str().unwrap();
    assert_eq!(trace.len(), 32, "{trace}");
}

/// A PostgreSQL schema private to one test, dropped at the end of the process at the latest.
pub struct PgSchema {
    pub name: String,
    pub client: tokio_postgres::Client,
}

impl PgSchema {
    /// Creates a fresh schema and runs `setup` in it.
    pub async fn new(setup: &str) -> PgSchema {
        let (client, conn) = tokio_postgres::connect(&pg_admin_url(), tokio_postgres::NoTls)
            .await
            .expect("connect to PostgreSQL");
        tokio::spawn(conn);
        let name = unique("t");
        client
            .batch_execute(&format!("CREATE SCHEMA {name}; SET search_path = {name}; {setup}"))
            .await
            .expect("schema setup");
        PgSchema { name, client }
    }

    /// The `[datasources.app]` body pointing at this schema.
    pub fn datasource(&self, extra: &str) -> String {
        format!(
            "kind = \"postgres\"\nurl = \"{}?options=-csearch_path%3D{}\"\n{extra}",
            pg_admin_url(),
            self.name
        )
    }
}

/// A MySQL database private to one test.
pub struct MyDatabase {
    pub name: String,
    pub conn: mysql_async::Conn,
}

impl MyDatabase {
    /// Creates a fresh database and runs `setup` (`;`-separated statements) in it.
    pub async fn new(setup: &str) -> MyDatabase {
        use mysql_async::prelude::Queryable as _;
        let name = unique("t");
        let opts = mysql_async::Opts::from_url(&mysql_admin_url()).unwrap();
        let mut conn = mysql_async::Conn::new(opts).await.expect("connect to MariaDB");
        conn.query_drop(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4")).await.unwrap();
        conn.query_drop(format!("USE {name}")).await.unwrap();
        for statement in setup.split(';').filter(|s| !s.trim().is_empty()) {
            conn.query_drop(statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        MyDatabase { name, conn }
    }

    /// The `[datasources.app]` body pointing at this database.
    pub fn datasource(&self, extra: &str) -> String {
        let base = mysql_admin_url();
        let server = base.rsplit_once('/').map_or(base.as_str(), |(server, _)| server);
        format!("kind = \"mysql\"\nurl = \"{server}/{}\"\n{extra}", self.name)
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let path = std::env::temp_dir().join(unique("sluice"));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A compiled plugin from `plugins/dist/` (built by `plugins/build`).
pub fn plugin(name: &str) -> PathBuf {
    let path = repo().join("plugins").join("dist").join(format!("{name}.wasm"));
    assert!(path.is_file(), "{} is missing: run plugins/build", path.display());
    path
}

/// A `[[plugins]]` table for `plugins/dist/<file>.wasm` named `name`, plus `extra` keys.
pub fn plugin_toml(name: &str, file: &str, extra: &str) -> String {
    format!("\n[[plugins]]\nname = \"{name}\"\npath = {:?}\n{extra}\n", plugin(file).display().to_string())
}

/// The `[policy]` section tests use: compiled artifacts cached in one directory shared by the
/// test process (and later runs), fast hot reload.
pub fn policy_toml(reload_interval_ms: u64) -> String {
    let cache = std::env::temp_dir().join("sluice-test-plugin-cache");
    format!(
        "\n[policy]\ncache_dir = {:?}\nreload_interval_ms = {reload_interval_ms}\n",
        cache.display().to_string()
    )
}

impl Sluice {
    /// Starts Sluice with SQLite datasources `app` and `other` (empty databases) and `extra`
    /// TOML (plugins, `[policy]`).
    pub async fn with_plugins(extra: &str) -> Sluice {
        let dir = TempDir::new();
        std::fs::write(dir.path().join("init.sql"), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n")
            .unwrap();
        let toml = format!(
            "{}\n[datasources.app]\n{SQLITE}\n[datasources.other]\nkind = \"sqlite\"\npath = \"o.db\"\nbootstrap = [\"init.sql\"]\n{extra}",
            base_toml()
        );
        let mut sluice = Sluice::start(&toml, dir.path()).await;
        sluice._dir = Some(dir);
        sluice
    }

    /// Runs `sql` on datasource `datasource` as the default test principal.
    pub async fn query_on(&self, datasource: &str, sql: &str) -> (StatusCode, Value) {
        let body = json!({"datasource": datasource, "sql": sql, "justification": "testing"});
        self.post(Some(KEY), body.to_string()).await
    }
}

/// A span as recorded by [`SpanRecorder`]: its name, its parent's name, and its fields (those
/// given when it opened, then those recorded later), as `name=value ` text.
pub type RecordedSpan = (String, Option<String>, String);

/// A tracing layer that records every span opened and every field recorded on it afterwards
/// (e.g. the `policy` span's `verdict`). Install with
/// `tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()))`.
#[derive(Clone, Default)]
pub struct SpanRecorder(Arc<std::sync::Mutex<Vec<RecordedSpan>>>);

/// The recorder's index of a span, kept in the span's extensions.
struct RecorderIndex(usize);

impl SpanRecorder {
    /// Every span recorded so far, in the order opened.
    pub fn spans(&self) -> Vec<RecordedSpan> {
        self.0.lock().unwrap().clone()
    }
}

fn field_text(record: impl FnOnce(&mut dyn tracing::field::Visit)) -> String {
    let mut fields = String::new();
    let mut visit = |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
        fields.push_str(&format!("{}={:?} ", field.name(), value));
    };
    record(&mut visit);
    fields
}

impl<S> tracing_subscriber::Layer<S> for SpanRecorder
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let span = ctx.span(id);
        let parent = span.as_ref().and_then(|s| s.parent()).map(|p| p.name().to_string());
        let fields = field_text(|visit| attrs.record(visit));
        let mut spans = self.0.lock().unwrap();
        spans.push((attrs.metadata().name().to_string(), parent, fields));
        if let Some(span) = span {
            span.extensions_mut().insert(RecorderIndex(spans.len() - 1));
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let Some(span) = ctx.span(id) else { return };
        let Some(index) = span.extensions().get::<RecorderIndex>().map(|i| i.0) else { return };
        let fields = field_text(|visit| values.record(visit));
        if let Some(entry) = self.0.lock().unwrap().get_mut(index) {
            entry.2.push_str(&fields);
        }
    }
}

/// A `sluice serve` process of its own, stopped on drop.
pub struct Process {
    child: std::process::Child,
    /// Its base URL.
    pub url: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Starts `sluice serve` on configuration `toml` in `dir`, on a free port; waits until it
    /// answers.
    pub async fn serve(dir: &Path, toml: &str) -> Process {
        Process::serve_in(dir, toml, "").await
    }

    /// [`Process::serve`] with `shell` run by bash first, in the same process (`ulimit ...`).
    pub async fn serve_in(dir: &Path, toml: &str, shell: &str) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let toml = toml.replace("listen = \"127.0.0.1:0\"", &format!("listen = \"127.0.0.1:{port}\""));
        let config = dir.join("sluice.toml");
        std::fs::write(&config, toml).unwrap();
        let log = std::fs::File::create(dir.join("sluice.log")).unwrap();
        let child = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("{shell}\nexec \"$0\" serve --config \"$1\""))
            .arg(env!("CARGO_BIN_EXE_sluice"))
            .arg(&config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let process = Process { child, url: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while client.get(format!("{}/healthz", process.url)).send().await.is_err() {
            let log = std::fs::read_to_string(dir.join("sluice.log")).unwrap_or_default();
            assert!(std::time::Instant::now() < deadline, "sluice did not start:\n{log}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        process
    }

    pub async fn call(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, response.json().await.unwrap())
    }

    pub async fn run(&self, token: &str, sql: &str) -> (StatusCode, Value) {
        let body = json!({"datasource": "app", "sql": sql, "params": [], "justification": "ticket 9"});
        self.call("/v1/query", token, body).await
    }
}
