//! `[policy]` and `[[plugins]]`: the WebAssembly policy chain, as written and as validated.
//!
//! The raw sections' field docs are the configuration reference (default, unit, security note).
//! Validation lives here rather than in `settings.rs` so the plugin rules stay in one file;
//! `settings::validate` calls [`validate`] with the same problem list as everything else.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::Problems;

/// `[policy]`: settings shared by every plugin.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    /// Directory for compiled plugin artifacts, relative to the configuration file. Default: a
    /// `sluice` directory under the system cache directory (`$XDG_CACHE_HOME`, else
    /// `~/.cache`), or no cache when neither is known. Compiling Python or JavaScript plugins
    /// takes seconds; the cache makes restarts fast. Entries are keyed by the plugin's bytes and
    /// the engine's settings, so a stale entry is never used.
    pub cache_dir: Option<PathBuf>,
    /// How often plugin files are checked for changes (mtime and size), in milliseconds.
    /// Default 1000; `0` disables hot reload. A changed file is compiled off the request path
    /// and swapped in atomically; a file that fails to load leaves the old plugin serving.
    pub reload_interval_ms: Option<u64>,
    /// Most plugin evaluations running at once across all plugins. Default 64. Further
    /// evaluations wait for a slot; this also sizes the engine's pre-allocated instance pool.
    pub max_concurrent_evaluations: Option<usize>,
}

/// `[[plugins]]`: one policy plugin in the chain. Plugins run in the order listed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSection {
    /// The plugin's name: unique, letters, digits, `_` and `-`. Denials and audit records name it.
    pub name: String,
    /// The component file (`.wasm`), relative to the configuration file. Must exist at start.
    pub path: PathBuf,
    /// Datasources this plugin judges. Default: all of them.
    pub datasources: Option<Vec<String>>,
    /// Any value, usually a table; passed to the plugin's `init` as JSON. `${NAME}` references
    /// are replaced like everywhere else, so secrets can come from the environment. Default `{}`.
    pub config: Option<toml::Value>,
    /// Wall-clock budget of one evaluation (instantiation, `init` and `evaluate`), in
    /// milliseconds. Default 100. Past it the plugin is stopped and the statement denied
    /// (`timeout`). Python and JavaScript plugins need more on a fresh instance (~1 ms each
    /// here, more on a loaded host).
    pub timeout_ms: Option<u64>,
    /// Linear memory the plugin may use, in MiB. Default 32. Growing past it fails and the
    /// statement is denied (`out_of_memory`). Python plugins need about 64.
    pub memory_limit_mb: Option<u64>,
    /// `fresh` (default): a new instance for every statement, so no state survives between
    /// statements. `warm`: instances are kept and reused up to `max_reuse` times; faster for
    /// Python and JavaScript, but state (and anything a statement leaked into it) carries over.
    pub mode: Option<String>,
    /// `warm` only: evaluations per instance before it is dropped. Default 100.
    pub max_reuse: Option<u32>,
    /// `warm` only: idle instances kept per plugin. Default 4.
    pub warm_instances: Option<usize>,
    /// `true` makes the plugin advisory: its failures and its verdict are logged and recorded
    /// as annotations but never refuse a statement. Default `false` (fail closed). Only for
    /// plugins whose verdict you can afford to lose.
    #[serde(default)]
    pub fail_open: bool,
}

/// Validated `[policy]` plus the plugin chain.
#[derive(Debug, Clone, Default)]
pub struct PolicySettings {
    /// Where compiled artifacts are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Poll interval for plugin file changes; `None` disables hot reload.
    pub reload_interval: Option<Duration>,
    /// Concurrent evaluations across all plugins.
    pub max_concurrent_evaluations: usize,
    /// The chain, in order.
    pub plugins: Vec<PluginSettings>,
}

/// How a plugin's instances live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceMode {
    /// A new instance per evaluation.
    Fresh,
    /// Pooled instances, each reused at most `max_reuse` times.
    Warm {
        /// Evaluations per instance.
        max_reuse: u32,
        /// Idle instances kept.
        instances: usize,
    },
}

/// Validated `[[plugins]]`.
#[derive(Debug, Clone)]
pub struct PluginSettings {
    /// Unique name.
    pub name: String,
    /// The component file, absolute or relative to the working directory.
    pub path: PathBuf,
    /// Datasources judged; `None` means all.
    pub datasources: Option<BTreeSet<String>>,
    /// `config` as JSON text, for `init`.
    pub config_json: String,
    /// Budget of one evaluation.
    pub timeout: Duration,
    /// Linear memory limit, bytes.
    pub memory_limit_bytes: usize,
    /// Fresh or warm instances.
    pub mode: InstanceMode,
    /// Advisory plugin: never refuses.
    pub fail_open: bool,
}

impl PluginSettings {
    /// Whether this plugin judges statements on `datasource`.
    pub fn judges(&self, datasource: &str) -> bool {
        self.datasources.as_ref().is_none_or(|names| names.contains(datasource))
    }
}

/// Checks `[policy]` and `[[plugins]]` against the configured datasource names.
pub fn validate(
    section: &PolicySection,
    plugins: &[PluginSection],
    datasources: &BTreeSet<&str>,
    base_dir: &Path,
    problems: &mut Problems,
) -> PolicySettings {
    let cache_dir = match &section.cache_dir {
        Some(dir) => Some(base_dir.join(dir)),
        None => default_cache_dir(),
    };
    let interval = section.reload_interval_ms.unwrap_or(1000);
    if interval > 3_600_000 {
        problems.add("policy.reload_interval_ms", format!("{interval} is out of range 0..=3600000"));
    }
    let max_concurrent = section.max_concurrent_evaluations.unwrap_or(64);
    if !(1..=4096).contains(&max_concurrent) {
        problems
            .add("policy.max_concurrent_evaluations", format!("{max_concurrent} is out of range 1..=4096"));
    }
    let mut names = BTreeSet::new();
    let plugins = plugins
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let settings = validate_plugin(i, p, datasources, base_dir, problems);
            if !names.insert(p.name.clone()) {
                problems
                    .add(format!("plugins[{i}].name"), format!("{:?} is used by an earlier plugin", p.name));
            }
            settings
        })
        .collect();
    PolicySettings {
        cache_dir,
        reload_interval: (interval > 0).then(|| Duration::from_millis(interval)),
        max_concurrent_evaluations: max_concurrent,
        plugins,
    }
}

fn validate_plugin(
    i: usize,
    p: &PluginSection,
    datasources: &BTreeSet<&str>,
    base_dir: &Path,
    problems: &mut Problems,
) -> Option<PluginSettings> {
    let key = |field: &str| format!("plugins[{i}].{field}");
    let before = problems.len();
    if p.name.is_empty() || !p.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        problems.add(key("name"), format!("{:?}: names may use only letters, digits, `_` and `-`", p.name));
    }
    let path = base_dir.join(&p.path);
    if !path.is_file() {
        problems.add(key("path"), format!("{} is not a readable file", path.display()));
    }
    if let Some(names) = &p.datasources {
        for name in names.iter().filter(|n| !datasources.contains(n.as_str())) {
            problems.add(key("datasources"), format!("unknown datasource {name:?}"));
        }
    }
    let timeout_ms = p.timeout_ms.unwrap_or(100);
    range(problems, &key("timeout_ms"), timeout_ms, 1, 60_000);
    let memory_mb = p.memory_limit_mb.unwrap_or(32);
    range(problems, &key("memory_limit_mb"), memory_mb, 1, 4096);
    let max_reuse = p.max_reuse.unwrap_or(100);
    let instances = p.warm_instances.unwrap_or(4);
    let mode = match p.mode.as_deref() {
        None | Some("fresh") => {
            if p.max_reuse.is_some() || p.warm_instances.is_some() {
                problems.add(key("mode"), "max_reuse and warm_instances need mode = \"warm\"");
            }
            InstanceMode::Fresh
        }
        Some("warm") => {
            range(problems, &key("max_reuse"), u64::from(max_reuse), 1, 1_000_000);
            range(problems, &key("warm_instances"), instances as u64, 1, 256);
            InstanceMode::Warm { max_reuse, instances }
        }
        Some(other) => {
            problems.add(key("mode"), format!("{other:?} is neither \"fresh\" nor \"warm\""));
            InstanceMode::Fresh
        }
    };
    let config_json =
        p.config.as_ref().map_or_else(|| "{}".to_string(), |config| toml_to_json(config).to_string());
    if problems.len() != before {
        return None;
    }
    Some(PluginSettings {
        name: p.name.clone(),
        path,
        datasources: p.datasources.as_ref().map(|names| names.iter().cloned().collect()),
        config_json,
        timeout: Duration::from_millis(timeout_ms),
        memory_limit_bytes: usize::try_from(memory_mb << 20).unwrap_or(usize::MAX),
        mode,
        fail_open: p.fail_open,
    })
}

/// TOML to JSON; datetimes become their RFC 3339 text.
fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(n) => serde_json::Value::from(*n),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(items) => items.iter().map(toml_to_json).collect(),
        toml::Value::Table(table) => serde_json::Value::Object(
            table.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect::<serde_json::Map<_, _>>(),
        ),
    }
}

fn default_cache_dir() -> Option<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("XDG_CACHE_HOME")
        .or_else(|| env("HOME").map(|home| home.join(".cache")))
        .map(|dir| dir.join("sluice"))
}

fn range(problems: &mut Problems, key: &str, value: u64, min: u64, max: u64) {
    if !(min..=max).contains(&value) {
        problems.add(key, format!("{value} is out of range {min}..={max}"));
    }
}

/// The datasource names of a raw configuration, for checking `datasources = [...]`.
pub(super) fn datasource_names<V>(datasources: &BTreeMap<String, V>) -> BTreeSet<&str> {
    datasources.keys().map(String::as_str).collect()
}
