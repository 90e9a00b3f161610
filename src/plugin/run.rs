//! `sluice plugin test`: runs one compiled plugin against recorded cases, without a database.
//!
//! Each case goes through the real analyser (so the plugin sees the facts Sluice would give
//! it) and the real host (same linker, limits, contract check and decision validation), but
//! the plugin's own decision is reported, not the chain's: in the gateway, row filters and
//! masks a plugin asks for are applied by later stages, which `plugin test` does not run.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use sluice_core::analyse;
use sluice_core::config::{InstanceMode, PluginSettings, PolicySettings};
use sluice_core::policy::{PolicyInput, PolicyRuntime};

use super::cases::{self, CasesFile};
use super::expect::{self, Outcome};

/// What `sluice plugin test` was asked to do.
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// The component file.
    pub plugin: PathBuf,
    /// The cases file.
    pub cases: PathBuf,
    /// `init` configuration replacing the file's, as JSON.
    pub config: Option<String>,
    /// Budget of one evaluation. Generous by default: a Python or JavaScript plugin's first
    /// instantiation on a loaded machine can take far longer than the gateway's 100 ms.
    pub timeout: Duration,
    /// Linear memory limit, bytes.
    pub memory_limit_bytes: usize,
}

/// How many cases passed and failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Cases whose outcome matched.
    pub passed: usize,
    /// Cases whose outcome did not match, or that could not be run.
    pub failed: usize,
}

/// Runs every case, writing one line per case and the summary line to `out`.
///
/// # Errors
/// When the cases file is invalid or the plugin cannot be loaded (e.g. built for another
/// contract version: the host's message says which).
pub fn run(options: &TestOptions, out: &mut dyn Write) -> anyhow::Result<Summary> {
    let file = CasesFile::read(&options.cases)?;
    let file_config = match &options.config {
        Some(text) => {
            let value: serde_json::Value =
                serde_json::from_str(text).context("--config is not valid JSON")?;
            Some(value)
        }
        None => file.config.clone(),
    };
    let rt =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting a runtime")?;
    // One runtime per distinct configuration: `init` sees the configuration of the slot.
    let mut runtimes: BTreeMap<String, PolicyRuntime> = BTreeMap::new();
    let mut summary = Summary { passed: 0, failed: 0 };
    for (index, case) in file.cases.iter().enumerate() {
        let config = cases::config_json(case.config.as_ref().or(file_config.as_ref()));
        if !runtimes.contains_key(&config) {
            let runtime = load(options, &config)?;
            runtimes.insert(config.clone(), runtime);
        }
        let runtime = runtimes.get(&config).context("plugin runtime missing")?;
        let problems = match run_case(&rt, runtime, &file, index) {
            Ok(outcome) => expect::mismatches(&case.expect, &outcome),
            Err(e) => vec![format!("cannot run the case: {e:#}")],
        };
        if problems.is_empty() {
            summary.passed += 1;
            writeln!(out, "ok     {}", case.name)?;
        } else {
            summary.failed += 1;
            writeln!(out, "FAILED {}: {}", case.name, problems.join("; "))?;
        }
    }
    writeln!(out, "{} passed, {} failed", summary.passed, summary.failed)?;
    Ok(summary)
}

/// Compiles and links the plugin with `config`, failing on the host's load error.
fn load(options: &TestOptions, config: &str) -> anyhow::Result<PolicyRuntime> {
    let name = options
        .plugin
        .file_stem()
        .and_then(|s| s.to_str())
        .map(|s| s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect())
        .unwrap_or_else(|| "plugin".to_string());
    let settings = PolicySettings {
        cache_dir: cache_dir(),
        reload_interval: None,
        // Also sizes the instance pool: componentize-py components hold several memories and
        // dozens of core instances, more than a pool sized for one evaluation allows.
        max_concurrent_evaluations: 16,
        plugins: vec![PluginSettings {
            name,
            path: options.plugin.clone(),
            datasources: None,
            config_json: config.to_string(),
            timeout: options.timeout,
            memory_limit_bytes: options.memory_limit_bytes,
            mode: InstanceMode::Fresh,
            fail_open: false,
        }],
    };
    let runtime =
        PolicyRuntime::new(&settings).map_err(|e| anyhow::anyhow!("cannot start the plugin host: {e}"))?;
    if let Some((_, why)) = runtime.problems().into_iter().next() {
        bail!("cannot load {}: {why}", options.plugin.display());
    }
    Ok(runtime)
}

/// The artifact cache `sluice serve` uses by default, so a plugin compiled once (seconds for
/// Python and JavaScript) is not compiled again; the system temp directory when there is none.
fn cache_dir() -> Option<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|home| home.join(".cache")));
    Some(base.unwrap_or_else(std::env::temp_dir).join("sluice"))
}

fn run_case(
    rt: &tokio::runtime::Runtime,
    runtime: &PolicyRuntime,
    file: &CasesFile,
    index: usize,
) -> anyhow::Result<Outcome> {
    let case = file.cases.get(index).context("no such case")?;
    let ctx = cases::resolve(&file.defaults, &case.context(), index + 1)?;
    let analysis = match analyse::analyse(ctx.dialect, &case.sql) {
        Ok(analysis) => analysis,
        Err(e) => return Ok(Outcome::Refused { code: e.code().as_str(), message: e.to_string() }),
    };
    let input = PolicyInput {
        principal: &ctx.principal,
        datasource: &ctx.datasource,
        dialect: ctx.dialect,
        facts: &analysis.facts,
        text: &analysis.sql,
        request: &ctx.request,
        grants: &[],
    };
    let result =
        rt.block_on(runtime.evaluate_each(&input)).into_iter().next().context("the plugin did not run")?;
    Ok(match result.result {
        Ok(decision) => Outcome::Decided(decision),
        Err(failure) => Outcome::Failed(failure),
    })
}
