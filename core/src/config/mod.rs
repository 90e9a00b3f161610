//! Configuration: parsed and validated once at start-up into trusted runtime values.
//!
//! [`load`] reads the TOML file, parses with unknown keys refused, replaces `${ENV}` references
//! in string values, and validates everything, reporting every problem at once with the key it concerns.
//! `sluice check` and `sluice serve` share this path, so a file that checks is a file that serves.

pub mod auth;
mod env;
pub mod file;
pub mod policy;
mod problems;
mod settings;
pub mod telemetry;

use std::path::Path;

use serde::Deserialize as _;

pub use policy::{InstanceMode, PluginSettings, PolicySettings};
pub use problems::{ConfigError, Problem, Problems};
pub use settings::{
    Config, DatasourceKind, DatasourceSettings, Overflow, ServerSettings, Target, redact_url,
};
pub use telemetry::{OtlpProtocol, OtlpSettings, TelemetrySettings};

/// Loads and validates the configuration file at `path`, reading `${NAME}` from the process
/// environment.
///
/// # Errors
/// A [`ConfigError`] listing every problem found.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        problems: vec![Problem { key: String::new(), message: format!("cannot read: {e}") }],
    })?;
    parse(&text, path, |name| std::env::var(name).ok())
}

/// Parses and validates configuration `text` as if read from `path` (relative paths in it are
/// resolved against `path`'s directory), looking environment variables up with `env`.
///
/// # Errors
/// A [`ConfigError`] listing every problem found.
pub fn parse(text: &str, path: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let mut problems = Problems::default();
    let fail = |problems: Problems| ConfigError { file: path.to_path_buf(), problems: problems.into_vec() };
    // Shape first, on the text as written, so mistakes are reported with their line. Only then
    // are `${NAME}` references in string values replaced (comments are left alone), and the
    // result deserialised again.
    let mut table = match toml::from_str::<file::ConfigFile>(text)
        .and_then(|_| toml::from_str::<toml::Table>(text))
    {
        Ok(table) => table,
        Err(e) => {
            // Only the message and the line: toml's full rendering quotes the source line.
            let line = e.span().map(|span| text.get(..span.start).map_or(1, |t| t.matches('\n').count() + 1));
            problems.add(line.map(|l| format!("line {l}")).unwrap_or_default(), e.message().trim_end());
            return Err(fail(problems));
        }
    };
    env::interpolate_table(&mut table, "", &env, &mut problems);
    if !problems.is_empty() {
        return Err(fail(problems));
    }
    let file = match file::ConfigFile::deserialize(table) {
        Ok(file) => file,
        Err(e) => {
            problems.add("", e.message().trim_end());
            return Err(fail(problems));
        }
    };
    let base_dir = path.parent().unwrap_or(Path::new("."));
    match settings::validate(&file, base_dir, &env, &mut problems) {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(fail(problems)),
    }
}
