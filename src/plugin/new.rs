//! `sluice plugin new`: writes a self-contained plugin project from the embedded templates.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::templates::{self, Template};

/// The languages a scaffold can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust, on the SDK `sluice-policy-sdk` (cargo, wasm32-wasip2).
    Rust,
    /// Python, with componentize-py.
    Python,
    /// JavaScript, with componentize-js.
    Js,
    /// C, with clang + wasi-libc and wit-bindgen's C bindings.
    C,
}

/// What `sluice plugin new` was asked to do.
#[derive(Debug, Clone)]
pub struct NewOptions {
    /// The language.
    pub lang: Lang,
    /// The plugin's name: lower-case letters, digits and single dashes.
    pub name: String,
    /// The directory the project is created in (as `<dir>/<name>`).
    pub dir: PathBuf,
    /// Rust only: the SDK crate's directory; default the checkout this binary was built from.
    pub sdk: Option<PathBuf>,
}

/// The SDK of the checkout this binary was built from.
const BUILT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/plugins/sdk-rust");

/// Creates the project and returns its directory.
///
/// # Errors
/// An invalid name, an existing non-empty directory, a missing SDK (Rust), or a write error.
pub fn scaffold(options: &NewOptions) -> anyhow::Result<PathBuf> {
    check_name(&options.name)?;
    let root = options.dir.join(&options.name);
    if root.read_dir().is_ok_and(|mut entries| entries.next().is_some()) {
        bail!("{} exists and is not empty; choose another name or --dir", root.display());
    }
    let mut vars = vec![
        ("name", options.name.clone()),
        ("crate_name", options.name.replace('-', "_")),
        ("contract", sluice_core::policy::CONTRACT_VERSION.to_string()),
        ("componentize_py_version", templates::COMPONENTIZE_PY_VERSION.to_string()),
        ("componentize_js_version", templates::COMPONENTIZE_JS_VERSION.to_string()),
        ("wit_bindgen_version", templates::WIT_BINDGEN_VERSION.to_string()),
    ];
    let (files, title, notes, config_notes) = match options.lang {
        Lang::Rust => {
            vars.push(("sdk_path", toml_escape(&sdk_dir(options.sdk.as_deref())?)));
            (templates::RUST, "Rust", RUST_NOTES, "")
        }
        Lang::Python => (templates::PYTHON, "Python", PYTHON_NOTES, SLOW_CONFIG),
        Lang::Js => (templates::JS, "JavaScript", JS_NOTES, SLOW_CONFIG),
        Lang::C => (templates::C, "C", C_NOTES, ""),
    };
    vars.push(("lang_title", title.to_string()));
    vars.push(("build_notes", notes.to_string()));
    vars.push(("config_notes", config_notes.to_string()));
    for template in templates::COMMON.iter().chain(files) {
        write(&root, template, &vars)?;
    }
    Ok(root)
}

const RUST_NOTES: &str = "`build.sh` runs `cargo build --release` for `wasm32-wasip2` (installing the target with \
rustup if missing); set `CARGO_TARGET_DIR` to share build output. `Cargo.toml` points at the SDK \
(`sluice-policy-sdk`) in a Sluice checkout; `cargo doc -p sluice-policy-sdk --open` documents it.";
const PYTHON_NOTES: &str = "`build.sh` uses `SLUICE_COMPONENTIZE_PY` when set, else `.venv/bin/componentize-py` \
(creating the venv from `requirements.txt` if missing). A Python component is ~18 MB and takes \
seconds to compile once; Sluice caches the compiled artifact.";
const JS_NOTES: &str = "`build.sh` uses `SLUICE_COMPONENTIZE_JS` when set, else \
`node_modules/.bin/componentize-js` (running `npm install` if missing). A JavaScript component \
is ~12 MB and takes seconds to compile once; Sluice caches the compiled artifact.";
const C_NOTES: &str = "`build.sh` needs clang with the wasm32 target and wasi-libc (Debian: `apt-get install \
clang lld wasi-libc libclang-rt-dev-wasm32`), and `wasm-tools` or `SLUICE_JCO` (a `jco`). The \
bindings in `gen/` were generated from `wit/` by wit-bindgen-cli; regenerate them if you change it.";
const SLOW_CONFIG: &str = "\ntimeout_ms = 1000      # a fresh Python/JavaScript instance needs more than the 100 ms default\nmemory_limit_mb = 64";

/// Lower-case ASCII letters and digits in dash-separated words, starting with a letter: a
/// valid cargo package, npm package and file name alike.
fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('-').all(|word| {
            !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if !valid {
        bail!(
            "{name:?} is not a valid plugin name: use lower-case letters, digits and single dashes, starting with a letter (e.g. protect-deletes)"
        );
    }
    Ok(())
}

fn sdk_dir(given: Option<&Path>) -> anyhow::Result<String> {
    let dir = given.map_or_else(|| PathBuf::from(BUILT_SDK), Path::to_path_buf);
    if !dir.join("Cargo.toml").is_file() {
        bail!(
            "no Rust plugin SDK at {}: pass --sdk <path to a Sluice checkout's plugins/sdk-rust> (the SDK is not published)",
            dir.display()
        );
    }
    let dir = dir.canonicalize().with_context(|| format!("resolving {}", dir.display()))?;
    dir.to_str().map(str::to_string).context("the SDK path is not valid UTF-8")
}

/// Escapes a string for a TOML basic string.
fn toml_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn write(root: &Path, template: &Template, vars: &[(&str, String)]) -> anyhow::Result<()> {
    let path = root.join(template.path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let content = if template.text {
        let mut text = String::from_utf8_lossy(template.content).into_owned();
        for (key, value) in vars {
            text = text.replace(&format!("{{{{{key}}}}}"), value);
        }
        text.into_bytes()
    } else {
        template.content.to_vec()
    };
    std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    if template.executable {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", path.display()))?;
    }
    Ok(())
}
