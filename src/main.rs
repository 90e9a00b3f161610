//! `sluice`: the command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use sluice::telemetry::{self, LogFormat};

/// Sluice: a just-in-time SQL access gateway.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "SLUICE_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        /// Configuration file (TOML).
        #[arg(long, short, env = "SLUICE_CONFIG")]
        config: PathBuf,
    },
    /// Validate a configuration file and connect to each datasource; exits non-zero on any problem.
    Check {
        /// Configuration file (TOML).
        #[arg(long, short, env = "SLUICE_CONFIG")]
        config: PathBuf,
    },
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Write and test policy plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Access requests and grants on a running Sluice: ask, review, revoke.
    Access {
        /// Sluice's base URL.
        #[arg(long, global = true, env = "SLUICE_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Your API key or JWT.
        #[arg(long, global = true, env = "SLUICE_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Print the API's JSON instead of tables.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        command: AccessCommand,
    },
    /// The tamper-evident audit log: verify it, read its end, manage its signing key.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain and the checkpoints; prints one `ok:` line, or the first problem
    /// (its line and seq) and exits 1.
    Verify {
        /// The log file.
        #[arg(long, required_unless_present = "store", conflicts_with = "store")]
        log: Option<PathBuf>,
        /// Instead of `--log`: a PostgreSQL store's `postgres://` URL (the `[audit] store`).
        #[arg(long)]
        store: Option<String>,
        /// With `--store`: the chain to verify. Default: every chain, one line each.
        #[arg(long, requires = "store")]
        chain: Option<String>,
        /// The signing key's public key (base64, or a file holding it) to check checkpoint
        /// signatures with; repeat for keys used before a rotation.
        #[arg(long = "public-key")]
        public_keys: Vec<String>,
        /// A checkpoint kept off the machine (a checkpoint line or the exported event's JSON
        /// line), or `@FILE`: the log must reach its seq with its hash.
        #[arg(long)]
        checkpoint: Option<String>,
    },
    /// Print the last records, one readable line each.
    Tail {
        /// The log file.
        #[arg(long, required_unless_present = "store", conflicts_with = "store")]
        log: Option<PathBuf>,
        /// Instead of `--log`: a PostgreSQL store's `postgres://` URL (the `[audit] store`).
        #[arg(long, requires = "chain")]
        store: Option<String>,
        /// With `--store`: the chain to read.
        #[arg(long, requires = "store")]
        chain: Option<String>,
        /// How many records.
        #[arg(short = 'n', default_value_t = 20)]
        n: usize,
        /// Print the lines as written (JSON).
        #[arg(long)]
        json: bool,
        /// Keep printing records as they are added.
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// Create a checkpoint signing key file (mode 0600); never replaces one.
    Keygen {
        /// The key file to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public key of a signing key file (base64).
    PublicKey {
        /// The signing key file.
        #[arg(long)]
        signing_key: PathBuf,
    },
}

#[derive(Subcommand)]
enum AccessCommand {
    /// Requests you filed or may review, newest first.
    List {
        /// pending, approved, rejected or expired.
        #[arg(long)]
        status: Option<String>,
        /// mine, review (pending ones you may approve, break-glass uses to review) or all.
        #[arg(long)]
        scope: Option<String>,
    },
    /// One request, with its reviews.
    Show {
        /// The request's id.
        id: String,
    },
    /// Ask ahead for a statement (`--sql`), a role template (`--template`) or a relation
    /// (`--relation`).
    Request {
        /// The datasource.
        #[arg(long)]
        datasource: String,
        /// The statement, as you will send it.
        #[arg(long, conflicts_with_all = ["template", "relation"], required_unless_present_any = ["template", "relation"])]
        sql: Option<String>,
        /// A parameter of the statement, as JSON (`42`, `'"text"'`); text that is not JSON is a
        /// string. Repeat in order.
        #[arg(long = "param")]
        params: Vec<String>,
        /// A role template instead of a statement.
        #[arg(long, conflicts_with = "relation")]
        template: Option<String>,
        /// A relation (`name` or `schema.name`) instead of a statement: its grant covers the
        /// `--statements` kinds over it until it expires.
        #[arg(long)]
        relation: Option<String>,
        /// With `--relation`: the statement kinds, comma-separated (`read,update`). Default `read`.
        #[arg(long, requires = "relation", value_delimiter = ',')]
        statements: Vec<String>,
        /// Why; shown to approvers.
        #[arg(long)]
        justification: Option<String>,
        /// Any statement of this shape until the grant expires, instead of exactly this one once.
        #[arg(long)]
        window: bool,
        /// How long the grant should last, seconds.
        #[arg(long)]
        duration: Option<u64>,
        /// Take the grant now, without approval (needs a break-glass role and a justification).
        #[arg(long)]
        break_glass: bool,
    },
    /// Approve a request.
    Approve {
        /// The request's id.
        id: String,
        /// Why.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Reject a request.
    Reject {
        /// The request's id.
        id: String,
        /// Why.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Grants you hold or may revoke.
    Grants {
        /// Include used, revoked and expired grants.
        #[arg(long)]
        all: bool,
    },
    /// Revoke a grant; a statement running under it stops.
    Revoke {
        /// The grant's id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Create a plugin project: an example policy, the contract, build.sh, README, cases.json.
    New {
        /// The language.
        #[arg(long, value_enum)]
        lang: sluice::plugin::Lang,
        /// The plugin's name (lower-case letters, digits, dashes); the project is DIR/NAME.
        name: String,
        /// The directory to create the project in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Rust: the SDK's directory (`plugins/sdk-rust` of a Sluice checkout). Default: the
        /// checkout this binary was built from.
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Run a compiled plugin against recorded cases, without a database; exits non-zero on any failure.
    Test {
        /// The plugin component (`.wasm`).
        plugin: PathBuf,
        /// The cases file (JSON; see plugins/README.md, "Scaffold and test").
        #[arg(long)]
        cases: PathBuf,
        /// The plugin's `init` configuration as JSON, replacing the cases file's `config`.
        #[arg(long)]
        config: Option<String>,
        /// Budget of one evaluation, ms (generous: Python/JavaScript first calls are slow).
        #[arg(long, default_value_t = 5000)]
        timeout_ms: u64,
        /// Linear memory limit, MiB.
        #[arg(long, default_value_t = 64)]
        memory_limit_mb: usize,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Generate a new random API key and print it with the hash to put in the configuration.
    Generate,
    /// Print the configuration hash of an existing key, read from standard input.
    Hash,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => runtime().and_then(|rt| rt.block_on(serve(config, cli.log_format))),
        Command::Check { config } => runtime().and_then(|rt| rt.block_on(check(config))),
        Command::Key(KeyCommand::Generate) => {
            let (key, hash) = sluice_core::auth::generate_api_key();
            println!(
                "key:  {key}\nhash: {hash}\n\nGive the key to the service; put the hash in [[auth.api_keys]]."
            );
            Ok(())
        }
        Command::Key(KeyCommand::Hash) => {
            let mut key = String::new();
            std::io::stdin()
                .read_line(&mut key)
                .map(|_| println!("{}", sluice_core::auth::hash_api_key(key.trim())))
                .context("reading the key from standard input")
        }
        Command::Plugin(command) => plugin(command),
        Command::Access { url, token, json, command } => access(url, token, json, command),
        Command::Audit(command) => audit(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn plugin(command: PluginCommand) -> anyhow::Result<()> {
    match command {
        PluginCommand::New { lang, name, dir, sdk } => {
            let root = sluice::plugin::scaffold(&sluice::plugin::NewOptions { lang, name, dir, sdk })?;
            println!(
                "created {}\nnext: cd {} && ./build.sh, then sluice plugin test <name>.wasm --cases cases.json",
                root.display(),
                root.display()
            );
            Ok(())
        }
        PluginCommand::Test { plugin, cases, config, timeout_ms, memory_limit_mb } => {
            let options = sluice::plugin::TestOptions {
                plugin,
                cases,
                config,
                timeout: std::time::Duration::from_millis(timeout_ms),
                memory_limit_bytes: memory_limit_mb.saturating_mul(1 << 20),
            };
            let summary = sluice::plugin::run(&options, &mut std::io::stdout().lock())?;
            anyhow::ensure!(
                summary.failed == 0,
                "{} of {} case(s) failed",
                summary.failed,
                summary.failed + summary.passed
            );
            Ok(())
        }
    }
}

fn access(url: String, token: Option<String>, json: bool, command: AccessCommand) -> anyhow::Result<()> {
    use sluice::access::Action;
    let token = token.context("no token: pass --token or set SLUICE_TOKEN")?;
    let action = match command {
        AccessCommand::List { status, scope } => Action::List { status, scope },
        AccessCommand::Show { id } => Action::Show { id },
        AccessCommand::Request {
            datasource,
            sql,
            params,
            template,
            relation,
            statements,
            justification,
            window,
            duration,
            break_glass,
        } => {
            let params: Vec<serde_json::Value> = params
                .into_iter()
                .map(|p| serde_json::from_str(&p).unwrap_or(serde_json::Value::String(p)))
                .collect();
            let mut body = serde_json::json!({ "datasource": datasource, "break_glass": break_glass });
            let fields = [
                ("sql", sql.map(serde_json::Value::from)),
                ("template", template.map(serde_json::Value::from)),
                ("relation", relation.map(serde_json::Value::from)),
                ("statements", (!statements.is_empty()).then(|| serde_json::Value::from(statements))),
                ("params", (!params.is_empty()).then(|| serde_json::Value::from(params))),
                ("justification", justification.map(serde_json::Value::from)),
                ("uses", window.then(|| serde_json::Value::from("window"))),
                ("duration_seconds", duration.map(serde_json::Value::from)),
            ];
            for (name, value) in fields {
                if let (Some(value), Some(object)) = (value, body.as_object_mut()) {
                    object.insert(name.into(), value);
                }
            }
            Action::Request { body }
        }
        AccessCommand::Approve { id, comment } => Action::Review { id, decision: "approve", comment },
        AccessCommand::Reject { id, comment } => Action::Review { id, decision: "reject", comment },
        AccessCommand::Grants { all } => Action::Grants { all },
        AccessCommand::Revoke { id, reason } => Action::Revoke { id, reason },
    };
    let target = sluice::access::Target { url, token, json };
    runtime()?.block_on(sluice::access::run(&target, action, &mut std::io::stdout().lock()))
}

/// `--log FILE` or `--store URL [--chain NAME]` (clap lets exactly one through).
fn audit_source(
    log: Option<PathBuf>,
    store: Option<String>,
    chain: Option<String>,
) -> anyhow::Result<sluice::audit::Source> {
    use sluice::audit::Source;
    match (log, store) {
        (Some(path), _) => Ok(Source::File(path)),
        (None, Some(url)) => Ok(Source::Store { url, chain }),
        (None, None) => anyhow::bail!("give --log FILE or --store URL"),
    }
}

fn audit(command: AuditCommand) -> anyhow::Result<()> {
    use sluice::audit::Action;
    let action = match command {
        AuditCommand::Verify { log, store, chain, public_keys, checkpoint } => {
            Action::Verify { log: audit_source(log, store, chain)?, public_keys, checkpoint }
        }
        AuditCommand::Tail { log, store, chain, n, json, follow } => {
            Action::Tail { log: audit_source(log, store, chain)?, n, json, follow }
        }
        AuditCommand::Keygen { out } => Action::Keygen { out },
        AuditCommand::PublicKey { signing_key } => Action::PublicKey { signing_key },
    };
    sluice::audit::run(action, &mut std::io::stdout().lock())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

async fn serve(path: PathBuf, log_format: LogFormat) -> anyhow::Result<()> {
    // The configuration first: it says where traces go. Its problems are printed by `main`.
    let config = sluice_core::config::load(&path)?;
    let telemetry = telemetry::init(log_format, &config.telemetry)?;
    let listen = config.server.listen;
    let served = async {
        let gateway = sluice::build_gateway(config).await?;
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
        tracing::info!(address = %listen, datasources = gateway.datasources.len(), "sluice listening");
        let pushing = gateway
            .telemetry
            .otlp
            .as_ref()
            .and_then(|otlp| telemetry::push_metrics(Arc::clone(&gateway), otlp));
        let served =
            sluice::server::serve(Arc::clone(&gateway), listener, sluice::server::shutdown_signal()).await;
        if let Some(pushing) = pushing {
            pushing.abort();
        }
        // Requests have drained: seal the audit log with a last checkpoint.
        if let Some(audit) = &gateway.audit {
            audit.close().await;
        }
        served
    }
    .await;
    // Spans still queued are exported before the process ends.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    served
}

async fn check(path: PathBuf) -> anyhow::Result<()> {
    let mut config = sluice_core::config::load(&path)?;
    println!("{}: configuration is valid", path.display());
    // One writer per audit log: checking a running server's configuration must not take its
    // log (or create one). The signing key is read, if it exists, to catch a damaged one.
    let audit = config.audit.take();
    let mut failed = 0;
    if let Some(audit) = &audit {
        let store = match &audit.store {
            sluice_core::audit::log::AuditStore::File(file) => file.display().to_string(),
            sluice_core::audit::log::AuditStore::Postgres { chain, .. } => {
                format!("PostgreSQL store, chain {chain}")
            }
        };
        match sluice_core::audit::log::check_signing_key_file(&audit.signing_key) {
            Ok(()) => {
                println!("  audit log {store}: signing key usable (the log is opened by `sluice serve`)")
            }
            Err(e) => {
                println!("  audit log {store}: UNUSABLE signing key: {e}");
                failed += 1;
            }
        }
    }
    let gateway = sluice::build_gateway(config).await?;
    if let Some(policy) = &gateway.policy {
        let problems = policy.problems();
        for slot in policy.slots() {
            let name = &slot.settings.name;
            match problems.iter().find(|(n, _)| n == name) {
                Some((_, why)) => println!("  plugin {name}: UNAVAILABLE: {why}"),
                None => println!("  plugin {name}: loaded"),
            }
        }
        failed += problems.len();
    }
    let readiness = gateway.readiness(std::time::Duration::from_secs(5)).await;
    for (name, ok) in &readiness {
        let ds = gateway.datasources.get(name).map(|ds| ds.connector.dialect().name()).unwrap_or("?");
        println!("  datasource {name} ({ds}): {}", if *ok { "reachable" } else { "UNREACHABLE" });
        failed += usize::from(!ok);
    }
    anyhow::ensure!(failed == 0, "{failed} plugin(s) unavailable or datasource(s) unreachable");
    println!("all {} datasource(s) reachable", readiness.len());
    Ok(())
}
