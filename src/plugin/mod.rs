//! `sluice plugin`: commands for plugin authors. `new` scaffolds a plugin project in Rust,
//! Python, JavaScript or C; `test` runs a compiled plugin against recorded cases with the real
//! analyser and host, without a database.

mod cases;
mod expect;
mod new;
mod run;
mod templates;

pub use new::{Lang, NewOptions, scaffold};
pub use run::{Summary, TestOptions, run};
