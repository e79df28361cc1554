//! The authorization code grant at the token endpoint (RFC 6749 4.1.3, RFC 7636 4.5-4.6): the
//! code record `/authorize` leaves behind, and the checks a token request must pass to redeem
//! it. Single use is the store's job (it takes the code out atomically); everything that can be
//! decided from the record, the client and the clock is decided here.

// rkyv's derives generate archived twins without docs (the code record is stored by the
// storage crate); the types themselves are documented and checked by the build without it.
#![cfg_attr(feature = "rkyv", allow(missing_docs))]

use crate::authorize::{AuthorizationRequest, CodeChallenge};
use crate::error::{OAuthError, Reason};
use crate::form::Form;
use crate::model::{Client, GrantType, UnixSecs};
use crate::pkce;

/// Who authenticated, and how: what the SSO session contributes to a code.
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authentication {
    /// The end-user's subject.
    pub sub: String,
    /// The SSO session id.
    pub sid: String,
    /// When the end-user authenticated.
    pub auth_time: UnixSecs,
    /// The authentication context class reached, if any.
    pub acr: Option<String>,
    /// The authentication methods used (RFC 8176), e.g. `pwd`.
    pub amr: Vec<String>,
}

/// An issued authorization code: everything the token endpoint needs to redeem it, kept under
/// the digest of the code value.
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code {
    /// The tenant that issued it.
    pub tenant: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// Whether `redirect_uri` was sent in the authorization request: the token request must
    /// then repeat it (RFC 6749 4.1.3).
    pub redirect_uri_sent: bool,
    /// The granted scope, space-delimited.
    pub scope: String,
    /// The `nonce` of the authorization request, for the ID token.
    pub nonce: Option<String>,
    /// The PKCE challenge, if the request had one.
    pub code_challenge: Option<CodeChallenge>,
    /// The end-user's subject.
    pub sub: String,
    /// The SSO session id.
    pub sid: String,
    /// When the end-user authenticated.
    pub auth_time: UnixSecs,
    /// Authentication context class reference.
    pub acr: Option<String>,
    /// Authentication methods references.
    pub amr: Vec<String>,
    /// When the code was issued.
    pub issued_at: UnixSecs,
    /// When the code stops being redeemable.
    pub expires_at: UnixSecs,
}

impl Code {
    /// The record for a code answering `request` for `tenant`, after `authn`.
    pub fn new(
        tenant: &str,
        request: &AuthorizationRequest,
        authn: Authentication,
        now: UnixSecs,
        ttl_secs: u32,
    ) -> Self {
        Self {
            tenant: tenant.to_owned(),
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            redirect_uri_sent: request.redirect_uri_sent,
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            sub: authn.sub,
            sid: authn.sid,
            auth_time: authn.auth_time,
            acr: authn.acr,
            amr: authn.amr,
            issued_at: now,
            expires_at: now + i64::from(ttl_secs),
        }
    }
}

/// The grant-specific fields of an `authorization_code` token request (RFC 6749 4.1.3, RFC
/// 7636 4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The code, for the server to take out of the store.
    pub code: &'a str,
    /// `redirect_uri`, if sent.
    pub redirect_uri: Option<&'a str>,
    /// `code_verifier`, if sent.
    pub code_verifier: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// Reads the fields from a token request form whose `grant_type` is `authorization_code`.
    pub fn parse(form: &'a Form<'_>) -> Result<Self, OAuthError> {
        Ok(Self {
            code: form.require("code")?,
            redirect_uri: form.get("redirect_uri"),
            code_verifier: form.get("code_verifier"),
        })
    }
}

/// A code that passed every check: only this can be turned into tokens.
#[derive(Debug, PartialEq, Eq)]
pub struct Validated {
    /// The redeemed code.
    pub code: Code,
}

/// Checks that the authenticated `client` may redeem `code` with this request at `now`.
pub fn validate(
    req: Request<'_>,
    client: &Client,
    code: Code,
    now: UnixSecs,
) -> Result<Validated, OAuthError> {
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            Reason::GrantTypeNotAllowed,
            "the client is not registered for authorization_code",
        ));
    }
    // RFC 6749 4.1.3: the code must have been issued to this client. The tenant is compared
    // too: a store bug must not let a code cross tenants.
    if code.client_id != client.client_id || code.tenant != client.tenant {
        return Err(OAuthError::new(
            Reason::AuthorizationCodeWrongClient,
            "the authorization code was issued to another client",
        ));
    }
    if now >= code.expires_at {
        return Err(OAuthError::new(Reason::AuthorizationCodeExpired, "the authorization code has expired"));
    }
    match req.redirect_uri {
        None if code.redirect_uri_sent => {
            return Err(OAuthError::new(Reason::MissingParameter, "parameter `redirect_uri` is required"));
        }
        Some(uri) if uri != code.redirect_uri => {
            return Err(OAuthError::new(
                Reason::RedirectUriMismatch,
                "redirect_uri differs from the authorization request",
            ));
        }
        _ => {}
    }
    match (&code.code_challenge, req.code_verifier) {
        (None, None) => {}
        // OAuth 2.1 4.1.3: a verifier for a code without a challenge is refused, so that an
        // attacker cannot downgrade a PKCE-protected flow by stripping the challenge.
        (None, Some(_)) => {
            return Err(OAuthError::new(
                Reason::PkceVerifierUnexpected,
                "code_verifier was sent but the authorization request had no code_challenge",
            ));
        }
        (Some(_), None) => {
            return Err(OAuthError::new(
                Reason::PkceVerifierMissing,
                "parameter `code_verifier` is required",
            ));
        }
        (Some(c), Some(verifier)) => {
            pkce::parse_verifier(verifier)?;
            if !pkce::verify(c.method, &c.challenge, verifier) {
                return Err(OAuthError::new(
                    Reason::PkceVerifierMismatch,
                    "code_verifier does not match the code_challenge",
                ));
            }
        }
    }
    Ok(Validated { code })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample_client;
    use crate::pkce::CodeChallengeMethod;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn client() -> Client {
        Client { grant_types: vec![GrantType::AuthorizationCode], ..sample_client() }
    }

    fn code() -> Code {
        Code {
            tenant: "t".into(),
            client_id: "svc".into(),
            redirect_uri: "https://app.example/cb".into(),
            redirect_uri_sent: true,
            scope: "openid".into(),
            nonce: None,
            code_challenge: Some(CodeChallenge {
                method: CodeChallengeMethod::S256,
                challenge: pkce::s256(VERIFIER),
            }),
            sub: "u".into(),
            sid: "s".into(),
            auth_time: 90,
            acr: None,
            amr: vec!["pwd".into()],
            issued_at: 100,
            expires_at: 160,
        }
    }

    fn check(req: Request<'_>, code: Code, now: UnixSecs) -> Result<(), Reason> {
        validate(req, &client(), code, now).map(|_| ()).map_err(|e| e.reason)
    }

    const GOOD: Request<'static> =
        Request { code: "c", redirect_uri: Some("https://app.example/cb"), code_verifier: Some(VERIFIER) };

    #[test]
    fn good_request_and_expiry_boundary() {
        assert_eq!(check(GOOD, code(), 159), Ok(()));
        assert_eq!(check(GOOD, code(), 160), Err(Reason::AuthorizationCodeExpired));
    }

    #[test]
    fn bad_requests() {
        let other_tenant = Code { tenant: "u".into(), ..code() };
        let other_client = Code { client_id: "x".into(), ..code() };
        let no_challenge = Code { code_challenge: None, ..code() };
        let wrong_verifier = format!("{}A", &VERIFIER[1..]);
        let cases: [(Request<'_>, Code, Reason); 7] = [
            (GOOD, other_tenant, Reason::AuthorizationCodeWrongClient),
            (GOOD, other_client, Reason::AuthorizationCodeWrongClient),
            (Request { redirect_uri: None, ..GOOD }, code(), Reason::MissingParameter),
            (
                Request { redirect_uri: Some("https://app.example/cb/"), ..GOOD },
                code(),
                Reason::RedirectUriMismatch,
            ),
            (Request { code_verifier: None, ..GOOD }, code(), Reason::PkceVerifierMissing),
            (Request { code_verifier: Some(&wrong_verifier), ..GOOD }, code(), Reason::PkceVerifierMismatch),
            (GOOD, no_challenge, Reason::PkceVerifierUnexpected),
        ];
        for (req, code, reason) in cases {
            assert_eq!(check(req, code, 100), Err(reason), "{req:?}");
            assert_eq!(
                crate::error::ErrorCode::from(reason) == crate::error::ErrorCode::InvalidGrant,
                reason != Reason::MissingParameter
            );
        }
        assert_eq!(
            check(Request { code_verifier: Some("short"), ..GOOD }, code(), 100),
            Err(Reason::MalformedParameter)
        );
    }

    #[test]
    fn redirect_uri_may_be_omitted_when_it_was_omitted_before() {
        let c = Code { redirect_uri_sent: false, ..code() };
        assert_eq!(check(Request { redirect_uri: None, ..GOOD }, c.clone(), 100), Ok(()));
        // When sent anyway, it must still match.
        let wrong = Request { redirect_uri: Some("https://evil.example/"), ..GOOD };
        assert_eq!(check(wrong, c, 100), Err(Reason::RedirectUriMismatch));
    }

    #[test]
    fn parses_the_form() {
        let form = Form::parse(
            b"grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fa%2Fcb&code_verifier=v",
        )
        .expect("form");
        let req = Request::parse(&form).expect("parse");
        assert_eq!(req, Request { code: "c", redirect_uri: Some("https://a/cb"), code_verifier: Some("v") });
        let form = Form::parse(b"grant_type=authorization_code").expect("form");
        assert_eq!(Request::parse(&form).expect_err("code").reason, Reason::MissingParameter);
    }

    #[test]
    fn grant_must_be_registered() {
        let mut c = client();
        c.grant_types = vec![GrantType::ClientCredentials];
        let err = validate(GOOD, &c, code(), 100).expect_err("grant");
        assert_eq!(err.reason, Reason::GrantTypeNotAllowed);
    }
}
