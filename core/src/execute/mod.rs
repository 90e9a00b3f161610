//! Execution: the contract every database connector implements, and the plain data it returns.
//!
//! Connectors live in their own crates under `connectors/`; they know nothing of policy or HTTP.
//! Stage code talks to a database only through [`Connector`].

mod cache;
mod cancel;
mod catalog;
mod connector;
mod session;
mod value;

pub use cache::{CatalogCache, MIN_RELOAD};
pub use cancel::Cancel;
pub use catalog::{Catalog, CatalogColumn, NameFolding, RelationInfo, RelationKind};
pub use connector::{
    Connector, ExecError, ExecRequest, Limits, Mode, PoolStatus, SessionSupport, command_tag,
};
pub use session::{
    PRINCIPAL_SETTING, RlsMode, SETTING_PREFIX, Session, SessionAsk, SessionRefusal, check_role,
    is_simple_identifier, session_for,
};
pub use value::{Column, ResultSet, Value};
