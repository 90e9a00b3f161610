//! Execution: the contract every database connector implements, and the plain data it returns.
//!
//! Connectors live in their own crates under `connectors/`; they know nothing of policy or HTTP.
//! Stage code talks to a database only through [`Connector`].

mod catalog;
mod connector;
mod value;

pub use catalog::{Catalog, CatalogColumn, NameFolding, RelationInfo, RelationKind};
pub use connector::{Connector, ExecError, ExecRequest, Limits, Mode, command_tag};
pub use value::{Column, ResultSet, Value};
