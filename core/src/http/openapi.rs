//! The OpenAPI document, derived from the handlers' annotations and the request/response types.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Sluice", description = "Just-in-time SQL access gateway"),
    paths(
        routes::query,
        super::access::ask,
        super::access::list_requests,
        super::access::get_request,
        super::access::decide,
        super::access::list_grants,
        super::access::revoke,
        routes::me,
        routes::healthz,
        routes::readyz
    ),
    components(schemas(
        crate::gateway::QueryRequest,
        crate::gateway::QueryResponse,
        crate::encode::ColumnMeta,
        super::ErrorBody,
        super::ErrorDetail,
        super::ApprovalBody,
        super::access::Comment,
        crate::gateway::AskAhead,
        super::access::RequestList,
        super::access::GrantList,
        crate::access::AccessRequest,
        crate::access::Grant,
        crate::access::StatementAsked,
        crate::access::Review,
        crate::access::Revocation,
        crate::access::RequestStatus,
        crate::access::GrantUses,
        crate::access::Decision,
        routes::Health,
        routes::Me
    )),
    modifiers(&BearerAuth, &RowValues)
)]
struct ApiDoc;

/// Replaces the description of `QueryResponse.rows` with the encoding of each value
/// ([`crate::encode::ROW_VALUES`]), which the row type alone cannot express.
struct RowValues;

impl Modify for RowValues {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, Schema};
        let Some(components) = openapi.components.as_mut() else { return };
        let Some(RefOr::T(Schema::Object(response))) = components.schemas.get_mut("QueryResponse") else {
            return;
        };
        match response.properties.get_mut("rows") {
            Some(RefOr::T(Schema::Array(rows))) => rows.description = Some(crate::encode::ROW_VALUES.into()),
            Some(RefOr::T(Schema::Object(rows))) => rows.description = Some(crate::encode::ROW_VALUES.into()),
            _ => {}
        }
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The OpenAPI 3.1 document of Sluice's HTTP API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
