//! The client credentials grant (RFC 6749 4.4): a client gets a token for itself, within the
//! scope it registered. The subject is the client (RFC 9068 2.2).

use crate::error::OAuthError;
use crate::form::Form;
use crate::grants::plan::{IssuePlan, RefreshPlan};
use crate::model::Client;
use crate::scope;

/// The grant-specific fields of a `client_credentials` token request (RFC 6749 4.4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The requested scope, if any.
    pub scope: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// Reads the fields from a token request form whose `grant_type` is `client_credentials`.
    pub fn parse(form: &'a Form<'_>) -> Self {
        Self { scope: form.get("scope") }
    }
}

/// Checks the requested scope against the client's registration and says what to issue: a
/// token whose subject is the client, with no refresh or ID token (RFC 6749 4.4.3). Whether
/// the client may use this grant at all is checked before, once for every grant
/// ([`super::check_allowed`]).
pub fn plan(req: Request<'_>, client: &Client, jti: String) -> Result<IssuePlan, OAuthError> {
    Ok(IssuePlan {
        sub: client.client_id.clone(),
        scope: scope::grant(req.scope, &client.scope)?,
        target: None,
        extra_info: None,
        jti,
        refresh: RefreshPlan::None,
        id_token: None,
        entitlements: crate::rbac::none(),
        validator: None,
        direct: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Reason;
    use crate::model::sample_client;

    fn plan_for(scope: Option<&str>) -> Result<IssuePlan, Reason> {
        plan(Request { scope }, &sample_client(), "j".into()).map_err(|e| e.reason)
    }

    #[test]
    fn registered_scope_is_required() {
        assert_eq!(plan_for(Some("read")).map(|p| p.scope), Ok("read".into()));
        assert_eq!(plan_for(Some("admin")), Err(Reason::ScopeNotAllowed));
        assert_eq!(plan_for(Some("read \"x")), Err(Reason::MalformedScope));
    }

    #[test]
    fn the_client_is_the_subject_and_nothing_else_is_issued() {
        let c = sample_client();
        let p = plan_for(None).expect("plan");
        assert_eq!(p.sub, c.client_id);
        assert_eq!(p.scope, "read write");
        assert_eq!((p.jti.as_str(), p.target, p.refresh, p.id_token), ("j", None, RefreshPlan::None, None));
    }
}
