//! Who is asking.

use std::collections::BTreeMap;

use serde::Serialize;

/// The authenticated caller, whichever scheme authenticated it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// A stable identifier: the API key's configured id, or the JWT's subject.
    pub id: String,
    /// Roles, for policy.
    pub roles: Vec<String>,
    /// Attributes such as `tenant_id`, from the API key's configuration or from configured claims.
    pub attributes: BTreeMap<String, String>,
}
