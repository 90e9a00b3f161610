//! Who may see, approve, reject and revoke what: pure rules over plain data, applied by the
//! store inside the transaction that records the decision.

use serde::Serialize;
use utoipa::ToSchema;

use super::{AccessError, AccessRequest, Grant, Millis, RequestStatus};
use crate::auth::Principal;

/// An approver's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Counts towards `min_approvals`.
    Approve,
    /// Ends the request.
    Reject,
}

impl Decision {
    /// The name stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }

    /// The decision named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Decision::Approve, Decision::Reject].into_iter().find(|d| d.name() == name)
    }
}

/// True when `principal` holds a role of `groups`.
fn in_groups(principal: &Principal, groups: &[String]) -> bool {
    principal.roles.iter().any(|role| groups.contains(role))
}

/// The requester and the request's approvers see a request; nobody else learns it exists.
pub fn may_see(request: &AccessRequest, viewer: &Principal) -> bool {
    request.principal == viewer.id || in_groups(viewer, &request.approver_groups)
}

/// The holder and the approver groups of the request it came from see a grant.
pub(super) fn may_see_grant(grant: &Grant, viewer: &Principal) -> bool {
    grant.principal == viewer.id || in_groups(viewer, &grant.approver_groups)
}

/// Whether `reviewer` may decide on `request` now.
///
/// # Errors
/// The first rule broken, in the order a reviewer would want to hear it.
pub(super) fn check(request: &AccessRequest, reviewer: &Principal) -> Result<(), AccessError> {
    if !may_see(request, reviewer) {
        return Err(super::not_found_request(&request.id));
    }
    if request.principal == reviewer.id {
        return Err(AccessError::Forbidden(
            "nobody reviews their own access request, whatever their roles".into(),
        ));
    }
    if !in_groups(reviewer, &request.approver_groups) {
        return Err(AccessError::Forbidden(format!(
            "only holders of a role in {:?} may review this request",
            request.approver_groups
        )));
    }
    if request.break_glass {
        // Reviewed once, after the fact, while the record stands as taken.
        return match (request.status, request.reviews.is_empty()) {
            (RequestStatus::Approved, true) => Ok(()),
            _ => Err(AccessError::Conflict("this break-glass use has already been reviewed".into())),
        };
    }
    if request.status != RequestStatus::Pending {
        return Err(AccessError::Conflict(format!("the request is already {}", request.status.name())));
    }
    if request.reviews.iter().any(|r| r.reviewer == reviewer.id) {
        return Err(AccessError::Conflict("you have already reviewed this request".into()));
    }
    Ok(())
}

/// A pending request's status at `now`: expired once its pending time has passed.
pub(super) fn settle(status: RequestStatus, expires_at: Millis, now: Millis) -> RequestStatus {
    if status == RequestStatus::Pending && now >= expires_at { RequestStatus::Expired } else { status }
}

#[cfg(test)]
mod tests {
    use super::super::{GrantUses, StatementAsked};
    use super::*;

    fn principal(id: &str, roles: &[&str]) -> Principal {
        Principal {
            id: id.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            attributes: Default::default(),
        }
    }

    fn request() -> AccessRequest {
        AccessRequest {
            id: "r1".into(),
            principal: "alice".into(),
            datasource: "app".into(),
            template: None,
            relation: None,
            statement: Some(StatementAsked {
                datasource: "app".into(),
                kind: "write".into(),
                text: "DELETE FROM t WHERE id = 1".into(),
                params: vec![],
                fingerprint: "f".into(),
                relations: vec!["main.t".into()],
            }),
            reasons: vec![],
            plugins: vec![],
            approver_groups: vec!["dba".into()],
            min_approvals: 1,
            per_group: false,
            justification: None,
            uses: GrantUses::Once,
            duration_seconds: 60,
            status: RequestStatus::Pending,
            created_at_ms: 0,
            expires_at_ms: 10,
            reviews: vec![],
            grant_id: None,
            break_glass: false,
        }
    }

    #[test]
    fn the_requester_never_reviews_even_as_an_approver() {
        let err = check(&request(), &principal("alice", &["dba", "admin"])).unwrap_err();
        assert!(matches!(err, AccessError::Forbidden(_)), "{err:?}");
    }

    #[test]
    fn only_approver_groups_review_and_others_do_not_see_it() {
        assert!(check(&request(), &principal("bob", &["dba"])).is_ok());
        let err = check(&request(), &principal("carol", &["analyst"])).unwrap_err();
        assert!(matches!(err, AccessError::NotFound(_)), "{err:?}");
    }

    #[test]
    fn decided_requests_and_second_reviews_conflict() {
        let mut decided = request();
        decided.status = RequestStatus::Rejected;
        assert!(matches!(check(&decided, &principal("bob", &["dba"])), Err(AccessError::Conflict(_))));
        let mut reviewed = request();
        reviewed.reviews.push(super::super::Review {
            reviewer: "bob".into(),
            decision: Decision::Approve,
            comment: None,
            at_ms: 1,
            groups: vec!["dba".into()],
        });
        assert!(matches!(check(&reviewed, &principal("bob", &["dba"])), Err(AccessError::Conflict(_))));
    }

    #[test]
    fn pending_requests_expire_at_their_time() {
        assert_eq!(settle(RequestStatus::Pending, 10, 9), RequestStatus::Pending);
        assert_eq!(settle(RequestStatus::Pending, 10, 10), RequestStatus::Expired);
        assert_eq!(settle(RequestStatus::Approved, 10, 11), RequestStatus::Approved);
    }
}
