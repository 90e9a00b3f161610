//! The scaffold templates, embedded in the binary so `sluice plugin new` works anywhere. The
//! sources live as real files under `plugins/templates/<lang>/`; `{{placeholders}}` are
//! substituted by `new.rs`. The contract and the C bindings are embedded from their single
//! source in the checkout, so a scaffold always matches the contract this binary speaks.

/// A file to write: its path inside the scaffold, its content, and whether it is executable.
pub struct Template {
    /// Relative path in the scaffold.
    pub path: &'static str,
    /// The content, with placeholders.
    pub content: &'static [u8],
    /// `chmod +x` after writing.
    pub executable: bool,
    /// Whether placeholders are substituted (false for binary files).
    pub text: bool,
}

const fn text(path: &'static str, content: &'static str) -> Template {
    Template { path, content: content.as_bytes(), executable: false, text: true }
}

const fn script(path: &'static str, content: &'static str) -> Template {
    Template { path, content: content.as_bytes(), executable: true, text: true }
}

/// The contract, copied into every scaffold as `wit/policy.wit`.
pub const CONTRACT_WIT: &str = include_str!("../../wit/policy.wit");

/// Files every scaffold gets.
pub const COMMON: &[Template] = &[
    text("wit/policy.wit", CONTRACT_WIT),
    text("cases.json", include_str!("../../plugins/templates/cases.json")),
    text("README.md", include_str!("../../plugins/templates/README.md")),
];

/// Rust: a standalone cargo project on the SDK.
pub const RUST: &[Template] = &[
    text("Cargo.toml", include_str!("../../plugins/templates/rust/Cargo.toml.in")),
    text(".cargo/config.toml", include_str!("../../plugins/templates/rust/cargo-config.toml")),
    text("src/lib.rs", include_str!("../../plugins/templates/rust/lib.rs")),
    script("build.sh", include_str!("../../plugins/templates/rust/build.sh")),
    text(".gitignore", include_str!("../../plugins/templates/rust/gitignore")),
];

/// Python: componentize-py.
pub const PYTHON: &[Template] = &[
    text("app.py", include_str!("../../plugins/templates/python/app.py")),
    text("requirements.txt", include_str!("../../plugins/templates/python/requirements.txt")),
    script("build.sh", include_str!("../../plugins/templates/python/build.sh")),
    text(".gitignore", include_str!("../../plugins/templates/python/gitignore")),
];

/// JavaScript: componentize-js.
pub const JS: &[Template] = &[
    text("policy.js", include_str!("../../plugins/templates/js/policy.js")),
    text("package.json", include_str!("../../plugins/templates/js/package.json")),
    script("build.sh", include_str!("../../plugins/templates/js/build.sh")),
    text(".gitignore", include_str!("../../plugins/templates/js/gitignore")),
];

/// C: clang + wasi-libc with the committed wit-bindgen bindings of `plugins/examples/c/gen/`.
pub const C: &[Template] = &[
    text("policy.c", include_str!("../../plugins/templates/c/policy.c")),
    script("build.sh", include_str!("../../plugins/templates/c/build.sh")),
    text(".gitignore", include_str!("../../plugins/templates/c/gitignore")),
    Template {
        path: "gen/policy.h",
        content: include_bytes!("../../plugins/examples/c/gen/policy.h"),
        executable: false,
        text: false,
    },
    Template {
        path: "gen/policy.c",
        content: include_bytes!("../../plugins/examples/c/gen/policy.c"),
        executable: false,
        text: false,
    },
    Template {
        path: "gen/policy_component_type.o",
        content: include_bytes!("../../plugins/examples/c/gen/policy_component_type.o"),
        executable: false,
        text: false,
    },
];

/// The pinned componentize-py version (`plugins/examples/python/requirements.txt`).
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// The pinned componentize-js version (`plugins/examples/js/package.json`).
pub const COMPONENTIZE_JS_VERSION: &str = "0.23.0";
/// The wit-bindgen-cli version the C bindings were generated with (`plugins/examples/build`).
pub const WIT_BINDGEN_VERSION: &str = "0.63.0";
