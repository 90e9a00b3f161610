//! The bindings wit-bindgen generates from `wit/policy.wit` (the single source of truth).
//!
//! Plugin authors rarely need this module: the SDK re-exports the types at its root and
//! [`export_policy!`](crate::export_policy) writes the glue. It is public so that the macro's
//! expansion in the plugin's crate can reach the generated export machinery.

#![allow(missing_docs, clippy::all, unsafe_op_in_unsafe_fn)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "policy",
    pub_export_macro: true,
    export_macro_name: "__export_policy_world",
    default_bindings_module: "::sluice_policy_sdk::bindings",
    runtime_path: "::sluice_policy_sdk::__private::wit_bindgen::rt",
    additional_derives: [PartialEq, Eq, Hash, PartialOrd, Ord],
});
