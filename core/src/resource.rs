//! RFC 8707 resource indicators: which of a tenant's APIs a token request names with
//! `resource`, whether the client may ask tokens for it, and how the API holds the granted
//! scope. A token for an API carries its identifier as `aud`, and only the scopes the API
//! declares (and the OpenID Connect ones, which concern the issuer, not the API).

use crate::error::{OAuthError, Reason};
use crate::form::Form;
use crate::model::{Api, Client, Tenant, is_valid_resource};

/// Scope values about the end-user's identity, granted whatever the API: they govern what
/// the issuer releases (ID token, userinfo, refresh), not what the API allows.
pub const IDENTITY_SCOPES: [&str; 7] =
    ["openid", "profile", "email", "address", "phone", "offline_access", "roles"];

/// The `resource` of a request, if any: one absolute URI without a fragment (RFC 8707 2).
/// Tessera issues a token for one API at a time, so a repeated `resource` is refused with
/// `invalid_target` (by [`Form::parse`]), which RFC 8707 2 allows for a combination the
/// server will not issue.
pub fn requested<'f>(form: &'f Form<'_>) -> Result<Option<&'f str>, OAuthError> {
    match form.get("resource") {
        Some(uri) if !is_valid_resource(uri) => Err(OAuthError::new(
            Reason::MalformedResource,
            "resource must be an absolute URI without a fragment",
        )),
        other => Ok(other),
    }
}

/// The API `resource` names in `tenant`, for `client`: `None` when no resource is named
/// (the token's audience is then the issuer, as before resource indicators). An identifier
/// no API has, or an API the client's `apis` leave out, is `invalid_target`.
pub fn select<'t>(
    tenant: &'t Tenant,
    client: &Client,
    resource: Option<&str>,
) -> Result<Option<&'t Api>, OAuthError> {
    let Some(uri) = resource else { return Ok(None) };
    let api = tenant.apis.iter().find(|a| a.identifier == uri).ok_or_else(|| {
        OAuthError::new(Reason::UnknownResource, "the resource is not an API of this issuer")
    })?;
    if !client.may_use_api(&api.id) {
        return Err(OAuthError::new(
            Reason::ResourceNotAllowed,
            "the client may not ask tokens for this resource",
        ));
    }
    Ok(Some(api))
}

/// Holds `scope` (space-delimited) to what `api` declares. Requested values (`strict`) it
/// does not declare refuse the request with `invalid_scope`; values the server chose are
/// dropped instead (RFC 6749 3.3 lets it grant less). Identity scopes always stay.
pub fn hold_scope(scope: &str, api: &Api, strict: bool) -> Result<String, OAuthError> {
    let mut kept: Vec<&str> = Vec::new();
    for value in scope.split(' ').filter(|v| !v.is_empty()) {
        if IDENTITY_SCOPES.contains(&value) || api.scopes.iter().any(|s| s == value) {
            kept.push(value);
        } else if strict {
            return Err(OAuthError::new(
                Reason::ScopeNotAllowed,
                format!("scope {value} is not a scope of the API {}", api.identifier),
            ));
        }
    }
    Ok(kept.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::model::{TenantSettings, sample_client};

    fn api(id: &str, identifier: &str, scopes: &[&str]) -> Api {
        Api {
            id: id.into(),
            identifier: identifier.into(),
            name: id.into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            access_token_format: None,
            access_token_ttl_secs: None,
            created_at: 0,
        }
    }

    fn tenant() -> Tenant {
        let mut t = Tenant::new("t".into(), "t".into(), TenantSettings::default(), 0);
        t.apis = vec![api("a1", "https://orders.example", &["orders:read"]), api("a2", "urn:billing", &[])];
        t
    }

    fn requested_of(body: &str) -> Result<Option<String>, ErrorCode> {
        let form = Form::parse(body.as_bytes()).map_err(|e| e.code())?;
        requested(&form).map(|r| r.map(str::to_owned)).map_err(|e| e.code())
    }

    #[test]
    fn the_resource_is_one_absolute_uri() {
        assert_eq!(requested_of("grant_type=x"), Ok(None));
        assert_eq!(
            requested_of("resource=https%3A%2F%2Fa.example%2Fv1"),
            Ok(Some("https://a.example/v1".into()))
        );
        assert_eq!(requested_of("resource=relative"), Err(ErrorCode::InvalidTarget));
        assert_eq!(requested_of("resource=https%3A%2F%2Fa%23frag"), Err(ErrorCode::InvalidTarget));
        assert_eq!(requested_of("resource=urn%3Aa&resource=urn%3Ab"), Err(ErrorCode::InvalidTarget));
    }

    #[test]
    fn only_known_apis_the_client_may_use_are_selected() {
        let t = tenant();
        let mut c = sample_client();
        assert_eq!(select(&t, &c, None).map(|a| a.map(|a| a.id.clone())), Ok(None));
        assert_eq!(
            select(&t, &c, Some("urn:billing")).map(|a| a.map(|a| a.id.clone())),
            Ok(Some("a2".into()))
        );
        let unknown = select(&t, &c, Some("https://nope.example")).expect_err("unknown");
        assert_eq!((unknown.reason, unknown.code()), (Reason::UnknownResource, ErrorCode::InvalidTarget));
        c.apis = Some(vec!["a1".into()]);
        assert!(select(&t, &c, Some("https://orders.example")).is_ok());
        let refused = select(&t, &c, Some("urn:billing")).expect_err("not allowed");
        assert_eq!((refused.reason, refused.code()), (Reason::ResourceNotAllowed, ErrorCode::InvalidTarget));
        c.apis = Some(vec![]);
        assert!(select(&t, &c, Some("https://orders.example")).is_err(), "an empty list allows nothing");
    }

    #[test]
    fn an_api_holds_the_scope_to_its_own_and_the_identity_scopes() {
        let a = api("a1", "https://orders.example", &["orders:read"]);
        assert_eq!(hold_scope("openid orders:read", &a, true), Ok("openid orders:read".into()));
        let err = hold_scope("orders:read write", &a, true).expect_err("undeclared");
        assert_eq!(err.code(), ErrorCode::InvalidScope);
        assert_eq!(hold_scope("orders:read write profile", &a, false), Ok("orders:read profile".into()));
        assert_eq!(hold_scope("", &a, true), Ok(String::new()));
    }
}
