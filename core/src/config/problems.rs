//! Collecting every configuration mistake before reporting, instead of stopping at the first.

use std::fmt;
use std::path::PathBuf;

/// One mistake in the configuration: the dotted key it concerns and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path of the key, e.g. `datasources.app.url`.
    pub key: String,
    /// What is wrong and, where it helps, what to write instead.
    pub message: String,
}

/// Accumulates [`Problem`]s during validation.
#[derive(Debug, Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// Records a problem with `key`.
    pub fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem { key: key.into(), message: message.into() });
    }

    /// How many problems were recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded problems, in the order found.
    pub fn into_vec(self) -> Vec<Problem> {
        self.0
    }
}

/// The configuration could not be loaded. Lists every problem found, each naming file and key.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The configuration file.
    pub file: PathBuf,
    /// Everything that is wrong with it.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "{}: {n} problem{}", self.file.display(), if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            if p.key.is_empty() {
                write!(f, "\n  - {}", p.message)?;
            } else {
                write!(f, "\n  - {}: {}", p.key, p.message)?;
            }
        }
        Ok(())
    }
}
