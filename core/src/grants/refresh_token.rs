//! The refresh token grant (RFC 6749 6) and the rules of refresh-token families: when a grant
//! earns a refresh token, what a presented token may be exchanged for, and the successor that
//! replaces it. Whether a token is current, a retry or a replay is the store's decision (it
//! must be atomic); everything that follows from the record, the client and the request is
//! decided here.

use sha2::{Digest, Sha256};

use crate::error::{OAuthError, Reason};
use crate::form::Form;
use crate::grants::plan::{self, IssuePlan, RefreshPlan};
use crate::model::{Client, ClientStanding, GrantType, RefreshToken, UnixSecs};
use crate::scope;
use crate::secret;
use crate::store::RefreshUse;

/// The scope that asks for a refresh token (OpenID Connect Core 11).
pub const OFFLINE_ACCESS: &str = "offline_access";

/// The grant-specific fields of a `refresh_token` token request (RFC 6749 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The refresh token.
    pub refresh_token: &'a str,
    /// A narrower scope for the new access token, if asked for.
    pub scope: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// Reads the fields from a token request form whose `grant_type` is `refresh_token`.
    pub fn parse(form: &'a Form<'_>) -> Result<Self, OAuthError> {
        Ok(Self { refresh_token: form.require("refresh_token")?, scope: form.get("scope") })
    }
}

/// Whether a grant to `client` earns a refresh token: when the client is registered for the
/// `refresh_token` grant, which it needs to use one ([`crate::grants::check_allowed`]).
/// `offline_access` alone earns nothing: handing a client a token it may not redeem would only
/// leave a live credential lying about.
pub fn earns_refresh_token(client: &Client) -> bool {
    client.allows_grant(GrantType::RefreshToken)
}

/// What a valid refresh request earns.
#[derive(Debug, PartialEq, Eq)]
pub struct Validated {
    /// The scope of the new access token: the requested subset, or what is left of the whole
    /// grant once the client's current registration is applied.
    pub access_scope: String,
}

/// The answer to a refresh token that is absent, expired, of a revoked family, or whose
/// end-user is gone: nothing tells which.
pub fn unknown() -> OAuthError {
    OAuthError::new(Reason::RefreshTokenUnknown, "the refresh token is invalid, expired or revoked")
}

/// Checks that the authenticated `client` may exchange `token` with this request, as the
/// client is registered now (whether it may refresh at all was checked before:
/// [`crate::grants::check_allowed`]). The token was read from the store as live; whether it is
/// still current is decided when it is used.
///
/// The scope follows the client's current registration, since an operator who withdraws a
/// scope from a client means it to stop getting it:
/// - no `scope` asked for: RFC 6749 6 reads that as the whole grant, and 3.3 lets the server
///   issue less than asked; the access token gets the grant's values the client may still
///   have, and the response's `scope` (always sent) tells the client. Only when none is left
///   is the request refused, `invalid_scope`: 3.3's "fail the request indicating an invalid
///   scope", since an access token for nothing is no answer;
/// - `scope` asked for: every value must be in the grant (RFC 6749 6) and registered for the
///   client now, else `invalid_scope`, as `/authorize` and client credentials answer a value
///   the client may not have. A value asked for by name is not dropped silently: the client
///   would believe it holds what it asked for.
///
/// The refresh token keeps the grant's whole scope ([`successor`]): RFC 6749 6 wants it
/// identical along the family, and every refresh applies the registration again, so a scope
/// withdrawn never reaches an access token while it stays withdrawn.
pub fn validate(req: Request<'_>, client: &Client, token: &RefreshToken) -> Result<Validated, OAuthError> {
    // A client deleted and registered again under the same id does not inherit tokens, and a
    // token issued before the operator revoked everything of the client is over. The token is
    // the family's latest, and every rotation is checked here, so a family the cut-off caught
    // stays caught; both answer as an unknown token would.
    match client.standing_of(token.issued_at) {
        ClientStanding::Usable => {}
        ClientStanding::Reregistered => return Err(unknown()),
        ClientStanding::CutOff => {
            return Err(OAuthError::new(Reason::ClientGrantsCutOff, unknown().description));
        }
    }
    // RFC 6749 10.4: a refresh token is bound to the client it was issued to.
    if token.client_id != client.client_id || token.tenant != client.tenant {
        return Err(OAuthError::new(
            Reason::RefreshTokenWrongClient,
            "the refresh token was issued to another client",
        ));
    }
    let registered = |value: &str| client.scope.iter().any(|r| r == value);
    let Some(requested) = req.scope else {
        let kept: Vec<&str> = scope::values(&token.scope).filter(|v| registered(v)).collect();
        if kept.is_empty() && scope::values(&token.scope).next().is_some() {
            return Err(OAuthError::new(
                Reason::RefreshScopeWithdrawn,
                "the client is no longer registered for any scope of this grant",
            ));
        }
        return Ok(Validated { access_scope: kept.join(" ") });
    };
    let requested = scope::parse(requested)?;
    if let Some(extra) = requested.iter().find(|s| !scope::contains(&token.scope, s)) {
        return Err(OAuthError::new(
            Reason::RefreshScopeNotGranted,
            format!("scope `{extra}` was not granted to this refresh token"),
        ));
    }
    if let Some(withdrawn) = requested.iter().find(|s| !registered(s)) {
        return Err(OAuthError::new(
            Reason::ScopeNotAllowed,
            format!("scope `{withdrawn}` is no longer allowed for this client"),
        ));
    }
    Ok(Validated { access_scope: requested.join(" ") })
}

/// The token that replaces `current`: the same family, client, subject, grant and login, with
/// a fresh lifetime. RFC 6749 6: the new refresh token keeps the scope of the one it replaces,
/// whatever narrower scope the access token was given.
pub fn successor(current: &RefreshToken, now: UnixSecs, ttl_secs: u32) -> RefreshToken {
    RefreshToken {
        issued_at: now,
        expires_at: now + i64::from(ttl_secs),
        rotated_at: None,
        ..current.clone()
    }
}

/// What presenting `current` earned, once the store has decided its use (RFC 6749 6): a
/// rotation or a retry within the grace period issues an access token for the validated
/// scope, the successor `next_value` the store now holds, and an ID token when `openid` is in
/// that scope (keeping the login, without a nonce: OpenID Connect Core 12.2). A reuse (the
/// store has revoked the family) and an unknown token are `invalid_grant`.
pub fn plan(
    used: &RefreshUse,
    current: &RefreshToken,
    validated: Validated,
    next_value: String,
    jti: String,
) -> Result<IssuePlan, OAuthError> {
    match used {
        RefreshUse::Rotated(_) | RefreshUse::Retried(_) => Ok(IssuePlan {
            id_token: plan::id_token_for(&validated.access_scope, current.auth.clone(), None),
            sub: current.auth.sub.clone(),
            scope: validated.access_scope,
            target: None,
            extra_info: None,
            jti,
            refresh: RefreshPlan::Stored(next_value),
            entitlements: crate::rbac::none(),
            validator: current.validator.clone(),
            direct: current.direct.clone(),
        }),
        RefreshUse::Reused(_) => Err(OAuthError::new(
            Reason::RefreshTokenReused,
            "the refresh token was already used; every token of its grant is revoked",
        )),
        RefreshUse::Unknown => Err(unknown()),
    }
}

/// An id derived from an authorization code's digest, for what redeeming the code issues (its
/// access token's `jti`, its refresh-token family). A replayed code names them again without
/// anyone having stored a link, so they can be revoked even while the first redemption is
/// still in flight. `label` keeps the ids of different things apart.
pub fn derived_id(label: &str, code_digest: &[u8; 32]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(label.as_bytes());
    hasher.update([0]);
    hasher.update(code_digest);
    let digest = hasher.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    secret::encode_id(&id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Authentication, sample_client};

    fn client() -> Client {
        Client {
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scope: ["openid", "profile", "email", "offline_access"].map(String::from).to_vec(),
            ..sample_client()
        }
    }

    /// The client, registered now for `scope` alone.
    fn client_with_scope(scope: &[&str]) -> Client {
        Client { scope: scope.iter().map(|s| (*s).to_owned()).collect(), ..client() }
    }

    fn token() -> RefreshToken {
        let c = client();
        RefreshToken {
            tenant: c.tenant,
            family: "fam".into(),
            client_id: c.client_id,
            scope: "openid profile offline_access".into(),
            auth: Authentication {
                sub: "user".into(),
                sid: "sid".into(),
                auth_time: 50,
                acr: None,
                amr: vec!["pwd".into()],
            },
            issued_at: 100,
            expires_at: 1100,
            rotated_at: None,
            validator: None,
            direct: None,
        }
    }

    fn req(scope: Option<&'static str>) -> Request<'static> {
        Request { refresh_token: "r", scope }
    }

    #[test]
    fn whole_grant_by_default_and_narrower_on_request() {
        let v = validate(req(None), &client(), &token()).expect("valid");
        assert_eq!(v.access_scope, "openid profile offline_access");
        let v = validate(req(Some("profile")), &client(), &token()).expect("narrower");
        assert_eq!(v.access_scope, "profile");
    }

    #[test]
    fn wider_scope_and_other_clients_are_refused() {
        let err = validate(req(Some("profile email")), &client(), &token()).expect_err("wider");
        assert_eq!(err.reason, Reason::RefreshScopeNotGranted);
        assert_eq!(err.code(), crate::error::ErrorCode::InvalidScope);
        let other = Client { client_id: "other".into(), ..client() };
        let err = validate(req(None), &other, &token()).expect_err("other client");
        assert_eq!(err.reason, Reason::RefreshTokenWrongClient);
        assert_eq!(err.code(), crate::error::ErrorCode::InvalidGrant);
        let other_tenant = Client { tenant: "elsewhere".into(), ..client() };
        assert!(validate(req(None), &other_tenant, &token()).is_err());
        let err = validate(req(Some("bad\"scope")), &client(), &token()).expect_err("malformed");
        assert_eq!(err.code(), crate::error::ErrorCode::InvalidScope);
    }

    #[test]
    fn a_client_registered_again_does_not_inherit_tokens() {
        let reborn = Client { created_at: token().issued_at + 1, ..client() };
        let err = validate(req(None), &reborn, &token()).expect_err("older than the client");
        assert_eq!(err.reason, Reason::RefreshTokenUnknown);
        let same_second = Client { created_at: token().issued_at, ..client() };
        assert!(validate(req(None), &same_second, &token()).is_ok());
    }

    #[test]
    fn a_token_issued_before_the_clients_cut_off_is_refused_like_an_unknown_one() {
        let mut cut = client();
        cut.cut_off_grants(token().issued_at);
        let err = validate(req(None), &cut, &token()).expect_err("cut off");
        assert_eq!(err.reason, Reason::ClientGrantsCutOff);
        assert_eq!(err.code(), crate::error::ErrorCode::InvalidGrant);
        assert_eq!(err.description, unknown().description, "nothing tells which");
        // The successor of a rotation after the cut-off is issued later and works.
        let later = successor(&token(), token().issued_at + 1, 1000);
        assert!(validate(req(None), &cut, &later).is_ok());
    }

    #[test]
    fn rotation_and_retry_issue_the_stored_successor() {
        let current = token();
        for used in [RefreshUse::Rotated(current.clone()), RefreshUse::Retried(current.clone())] {
            let v = validate(req(Some("openid profile")), &client(), &current).expect("valid");
            let p = plan(&used, &current, v, "next".into(), "j".into()).expect("issued");
            assert_eq!((p.sub.as_str(), p.scope.as_str(), p.jti.as_str()), ("user", "openid profile", "j"));
            assert_eq!(p.refresh, RefreshPlan::Stored("next".into()));
            let id = p.id_token.expect("openid kept");
            assert_eq!((id.auth, id.nonce), (current.auth.clone(), None));
        }
        let v = validate(req(Some("profile")), &client(), &current).expect("valid");
        let p = plan(&RefreshUse::Rotated(current.clone()), &current, v, "n".into(), "j".into()).expect("ok");
        assert_eq!(p.id_token, None, "no ID token without openid in the access scope");
    }

    #[test]
    fn reuse_and_unknown_are_invalid_grant() {
        let current = token();
        let v = || validate(req(None), &client(), &current).expect("valid");
        let err = plan(&RefreshUse::Reused(current.clone()), &current, v(), "n".into(), "j".into())
            .expect_err("reused");
        assert_eq!(err.reason, Reason::RefreshTokenReused);
        assert_eq!(err.code(), crate::error::ErrorCode::InvalidGrant);
        let err = plan(&RefreshUse::Unknown, &current, v(), "n".into(), "j".into()).expect_err("unknown");
        assert_eq!(err.reason, Reason::RefreshTokenUnknown);
        assert_eq!(err.code(), crate::error::ErrorCode::InvalidGrant);
    }

    #[test]
    fn successor_keeps_the_grant_and_renews_the_lifetime() {
        let mut used = token();
        used.rotated_at = Some(400);
        let next = successor(&used, 500, 1000);
        assert_eq!(next.family, used.family);
        assert_eq!(next.scope, used.scope);
        assert_eq!(next.auth, used.auth);
        assert_eq!((next.issued_at, next.expires_at, next.rotated_at), (500, 1500, None));
    }

    #[test]
    fn refresh_tokens_come_with_the_registration_alone() {
        let plain = Client { grant_types: vec![GrantType::AuthorizationCode], ..sample_client() };
        assert!(!earns_refresh_token(&plain));
        assert!(earns_refresh_token(&client()));
    }

    #[test]
    fn without_a_scope_the_grant_is_narrowed_to_the_current_registration() {
        let lost_profile = client_with_scope(&["openid", "offline_access", "email"]);
        let v = validate(req(None), &lost_profile, &token()).expect("narrowed");
        assert_eq!(v.access_scope, "openid offline_access", "the grant's order, less what was withdrawn");
        // A scope registered since the grant was made is not added to it.
        let wider = client_with_scope(&["openid", "profile", "offline_access", "admin"]);
        assert_eq!(validate(req(None), &wider, &token()).expect("whole").access_scope, token().scope);
    }

    #[test]
    fn without_a_scope_a_grant_with_nothing_left_is_invalid_scope() {
        let err = validate(req(None), &client_with_scope(&["email"]), &token()).expect_err("nothing left");
        assert_eq!(err.reason, Reason::RefreshScopeWithdrawn);
        assert_eq!(err.code(), crate::error::ErrorCode::InvalidScope);
        // A grant that never had a scope has lost nothing.
        let scopeless = RefreshToken { scope: String::new(), ..token() };
        assert_eq!(validate(req(None), &client_with_scope(&[]), &scopeless).expect("empty").access_scope, "");
    }

    #[test]
    fn a_withdrawn_scope_asked_for_by_name_is_invalid_scope() {
        let lost_profile = client_with_scope(&["openid", "offline_access"]);
        let err = validate(req(Some("openid profile")), &lost_profile, &token()).expect_err("withdrawn");
        assert_eq!(err.reason, Reason::ScopeNotAllowed);
        assert_eq!(err.code(), crate::error::ErrorCode::InvalidScope);
        assert!(err.description.contains("profile"), "{}", err.description);
        // What the client still has may be asked for.
        let v = validate(req(Some("openid")), &lost_profile, &token()).expect("still registered");
        assert_eq!(v.access_scope, "openid");
        // Beyond the grant stays the grant's error, whatever the registration says.
        let err = validate(req(Some("email")), &client(), &token()).expect_err("not granted");
        assert_eq!(err.reason, Reason::RefreshScopeNotGranted);
    }

    #[test]
    fn derived_ids_differ_by_label_and_code() {
        let a = derived_id("family", &[1; 32]);
        assert_eq!(a, derived_id("family", &[1; 32]));
        assert_ne!(a, derived_id("jti", &[1; 32]));
        assert_ne!(a, derived_id("family", &[2; 32]));
        assert_eq!(a.len(), 22);
    }
}
