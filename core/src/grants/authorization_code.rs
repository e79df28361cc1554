//! The authorization code grant at the token endpoint (RFC 6749 4.1.3, RFC 7636 4.5-4.6): the
//! code record `/authorize` leaves behind, and the checks a token request must pass to redeem
//! it. Single use is the store's job (it takes the code out atomically); everything that can be
//! decided from the record, the client and the clock is decided here.

pub use crate::model::{Authentication, Code};

use crate::authorize::AuthorizationRequest;
use crate::error::{OAuthError, Reason};
use crate::form::Form;
use crate::grants::plan::{self, IssuePlan, RefreshPlan};
use crate::grants::refresh_token::{self, derived_id};
use crate::model::{Client, ClientStanding, RefreshToken, TenantSettings, UnixSecs};
use crate::pkce;
use crate::store::CodeTaken;

/// Label of the access-token `jti` derived from a code's digest ([`derived_id`]).
const CODE_JTI: &str = "access-token-jti";
/// Label of the refresh-token family derived from a code's digest.
const CODE_FAMILY: &str = "refresh-family";

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
            auth: authn,
            issued_at: now,
            expires_at: now + i64::from(ttl_secs),
            resource: request.resource.clone(),
        }
    }
}

/// What redeeming a code issues, named from the code's digest alone: the access token's `jti`
/// and the refresh-token family. A replay of the code names them again without anyone having
/// stored a link, so they can be revoked even while the first redemption is in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeIds {
    /// The `jti` of the access token issued for the code.
    pub jti: String,
    /// The refresh-token family started for the code.
    pub family: String,
}

impl CodeIds {
    /// The ids of the code with this digest.
    pub fn of(code_digest: &[u8; 32]) -> Self {
        Self { jti: derived_id(CODE_JTI, code_digest), family: derived_id(CODE_FAMILY, code_digest) }
    }
}

/// What a replayed code revokes (RFC 6749 4.1.2, 10.5): the access token its first
/// redemption issued, on the deny list for as long as such a token could live, and its
/// refresh family, revoked (or recorded as revoked, if the first redemption has not stored it
/// yet) for as long as a token of it could live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayRevocation {
    /// The ids to revoke.
    pub ids: CodeIds,
    /// Until when the access token's `jti` stays denied.
    pub deny_jti_until: UnixSecs,
    /// Until when the family stays recorded as revoked.
    pub revoke_family_until: UnixSecs,
}

/// The revocation a replay of the code with this digest calls for at `now`.
pub fn replay_revocation(
    code_digest: &[u8; 32],
    settings: &TenantSettings,
    now: UnixSecs,
) -> ReplayRevocation {
    ReplayRevocation {
        ids: CodeIds::of(code_digest),
        deny_jti_until: now + i64::from(settings.access_token_ttl_secs),
        revoke_family_until: now + i64::from(settings.refresh_token_ttl_secs),
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

/// The checks a request must pass before its code is taken, so that a malformed request
/// leaves the code redeemable: a verifier outside the RFC 7636 4.1 grammar makes the request
/// malformed (RFC 6749 5.2 `invalid_request`), while a well-formed verifier that does not
/// match still uses the code up (RFC 7636 4.6).
pub fn check_before_take(req: &Request<'_>) -> Result<(), OAuthError> {
    if let Some(verifier) = req.code_verifier {
        pkce::parse_verifier(verifier)?;
    }
    Ok(())
}

/// What taking the code means for the request.
#[derive(Debug, PartialEq, Eq)]
// Made once per token request and moved, never held in bulk: boxing would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
pub enum Taken {
    /// The code was fresh and passed every check: redeem it.
    Redeem(Validated),
    /// The code was used before: revoke what its first redemption issued, then answer
    /// [`replayed`].
    Replay(ReplayRevocation),
}

/// Decides what the store's answer to a take means at `now`: a fresh code is validated
/// against the request and the client; a replayed one calls for revoking what it issued; an
/// unknown (absent or expired) one is `invalid_grant`.
pub fn after_take(
    taken: CodeTaken,
    req: Request<'_>,
    client: &Client,
    code_digest: &[u8; 32],
    settings: &TenantSettings,
    now: UnixSecs,
) -> Result<Taken, OAuthError> {
    match taken {
        CodeTaken::Fresh(code) => validate(req, client, code, now).map(Taken::Redeem),
        CodeTaken::Replayed(_) => Ok(Taken::Replay(replay_revocation(code_digest, settings, now))),
        CodeTaken::Unknown => Err(OAuthError::new(Reason::AuthorizationCodeUnknown, CODE_INVALID)),
    }
}

/// The answer to a replayed code, once what it issued is revoked.
pub fn replayed() -> OAuthError {
    OAuthError::new(
        Reason::AuthorizationCodeReplayed,
        "the authorization code was already used; the tokens issued for it are revoked",
    )
}

/// A code that passed every check: only this can be turned into tokens.
#[derive(Debug, PartialEq, Eq)]
pub struct Validated {
    /// The redeemed code.
    pub code: Code,
}

/// What a client hears of a code that is absent, expired, or no longer honoured: nothing tells
/// which.
const CODE_INVALID: &str = "the authorization code is invalid or expired";

/// Checks that the authenticated `client` may redeem `code` with this request at `now`.
/// (Whether the client may use this grant at all was checked before the code was taken.)
pub fn validate(
    req: Request<'_>,
    client: &Client,
    code: Code,
    now: UnixSecs,
) -> Result<Validated, OAuthError> {
    // RFC 6749 4.1.3: the code must have been issued to this client. The tenant is compared
    // too: a store bug must not let a code cross tenants.
    if code.client_id != client.client_id || code.tenant != client.tenant {
        return Err(OAuthError::new(
            Reason::AuthorizationCodeWrongClient,
            "the authorization code was issued to another client",
        ));
    }
    // A code issued to an earlier client of the same id, or before the operator revoked
    // everything of the client, would otherwise start a grant the revocation meant to end.
    match client.standing_of(code.issued_at) {
        ClientStanding::Usable => {}
        ClientStanding::Reregistered => {
            return Err(OAuthError::new(Reason::AuthorizationCodeUnknown, CODE_INVALID));
        }
        ClientStanding::CutOff => {
            return Err(OAuthError::new(Reason::ClientGrantsCutOff, CODE_INVALID));
        }
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

/// What a validated code earns at `now` (RFC 6749 4.1.4, OpenID Connect Core 3.1.3.3): an
/// access token whose `jti`, and a refresh-token family whose id, are derived from the code's
/// digest; a refresh token when the grant earns one; an ID token when `openid` was granted.
pub fn plan(
    validated: Validated,
    client: &Client,
    code_digest: &[u8; 32],
    settings: &TenantSettings,
    now: UnixSecs,
) -> IssuePlan {
    let code = validated.code;
    let ids = CodeIds::of(code_digest);
    let refresh = if refresh_token::earns_refresh_token(client) {
        RefreshPlan::StartFamily(RefreshToken {
            tenant: code.tenant.clone(),
            family: ids.family,
            client_id: client.client_id.clone(),
            scope: code.scope.clone(),
            auth: code.auth.clone(),
            issued_at: now,
            expires_at: now + i64::from(settings.refresh_token_ttl_secs),
            rotated_at: None,
            validator: None,
            direct: None,
        })
    } else {
        RefreshPlan::None
    };
    IssuePlan {
        sub: code.auth.sub.clone(),
        id_token: plan::id_token_for(&code.scope, code.auth, code.nonce),
        scope: code.scope,
        target: None,
        extra_info: None,
        jti: ids.jti,
        refresh,
        entitlements: crate::rbac::none(),
        validator: None,
        direct: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GrantType, sample_client};
    use crate::pkce::{CodeChallenge, CodeChallengeMethod};

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
            auth: Authentication {
                sub: "u".into(),
                sid: "s".into(),
                auth_time: 90,
                acr: None,
                amr: vec!["pwd".into()],
            },
            issued_at: 100,
            expires_at: 160,
            resource: None,
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
    fn a_code_issued_before_the_clients_cut_off_or_registration_is_refused() {
        let mut cut = client();
        cut.cut_off_grants(code().issued_at);
        let err = validate(GOOD, &cut, code(), 101).expect_err("cut off");
        assert_eq!(
            (err.reason, err.code()),
            (Reason::ClientGrantsCutOff, crate::error::ErrorCode::InvalidGrant)
        );
        let reborn = Client { created_at: code().issued_at + 1, ..client() };
        let err = validate(GOOD, &reborn, code(), 101).expect_err("an earlier client's code");
        assert_eq!(err.reason, Reason::AuthorizationCodeUnknown);
        let later = Code { issued_at: code().issued_at + 1, ..code() };
        assert!(validate(GOOD, &cut, later, 101).is_ok(), "a code from after the cut-off");
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
    fn plan_derives_ids_from_the_code_and_carries_the_login() {
        let digest = [7; 32];
        let settings = TenantSettings::default();
        let mut c = code();
        c.scope = "openid offline_access".into();
        c.nonce = Some("n".into());
        let refreshing =
            Client { grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken], ..client() };
        let validated = validate(GOOD, &refreshing, c.clone(), 100).expect("valid");
        let p = plan(validated, &refreshing, &digest, &settings, 100);
        let ids = CodeIds::of(&digest);
        assert_eq!(
            (p.sub.as_str(), p.scope.as_str(), p.target.as_ref().map(|t| t.audience.as_str())),
            ("u", "openid offline_access", None)
        );
        assert_eq!(p.jti, ids.jti);
        let RefreshPlan::StartFamily(first) = &p.refresh else {
            panic!("a client registered for refresh_token earns a refresh token")
        };
        assert_eq!(first.family, ids.family);
        assert_eq!(
            (first.client_id.as_str(), first.auth.sub.as_str(), first.auth.sid.as_str()),
            ("svc", "u", "s")
        );
        assert_eq!((first.issued_at, first.expires_at, first.rotated_at), (100, 100 + 14 * 24 * 3600, None));
        let id = p.id_token.expect("openid earns an ID token");
        assert_eq!((id.auth, id.nonce), (c.auth, Some("n".into())));
    }

    #[test]
    fn plan_without_openid_or_refresh_registration_is_an_access_token_alone() {
        // offline_access alone earns nothing: a client not registered for refresh_token could
        // not use the token.
        for scope in ["profile", "profile offline_access"] {
            let mut c = code();
            c.scope = scope.into();
            let validated = validate(GOOD, &client(), c, 100).expect("valid");
            let p = plan(validated, &client(), &[1; 32], &TenantSettings::default(), 100);
            assert_eq!((p.refresh, p.id_token), (RefreshPlan::None, None), "{scope}");
        }
    }

    #[test]
    fn what_a_take_means() {
        let settings = TenantSettings::default();
        let taken = |t: CodeTaken| after_take(t, GOOD, &client(), &[5; 32], &settings, 100);
        assert_eq!(taken(CodeTaken::Fresh(code())), Ok(Taken::Redeem(Validated { code: code() })));
        assert_eq!(
            taken(CodeTaken::Replayed(code())),
            Ok(Taken::Replay(replay_revocation(&[5; 32], &settings, 100)))
        );
        let err = taken(CodeTaken::Unknown).expect_err("unknown");
        assert_eq!(
            (err.reason, err.code()),
            (Reason::AuthorizationCodeUnknown, crate::error::ErrorCode::InvalidGrant)
        );
        // A fresh code still faces every check of the request.
        let err = after_take(CodeTaken::Fresh(code()), GOOD, &client(), &[5; 32], &settings, 160)
            .expect_err("late");
        assert_eq!(err.reason, Reason::AuthorizationCodeExpired);
        assert_eq!(replayed().code(), crate::error::ErrorCode::InvalidGrant);
    }

    #[test]
    fn malformed_verifiers_are_refused_before_the_take() {
        assert!(check_before_take(&GOOD).is_ok());
        assert!(check_before_take(&Request { code_verifier: None, ..GOOD }).is_ok());
        let short = Request { code_verifier: Some("too-short"), ..GOOD };
        assert_eq!(
            check_before_take(&short).expect_err("grammar").code(),
            crate::error::ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn replay_revokes_the_derived_ids_for_their_lifetimes() {
        let settings =
            TenantSettings { access_token_ttl_secs: 60, refresh_token_ttl_secs: 600, ..Default::default() };
        let r = replay_revocation(&[3; 32], &settings, 1000);
        assert_eq!(r.ids, CodeIds::of(&[3; 32]));
        assert_eq!((r.deny_jti_until, r.revoke_family_until), (1060, 1600));
        let other = CodeIds::of(&[4; 32]);
        assert_ne!(other.jti, r.ids.jti);
        assert_ne!(other.family, r.ids.family);
        assert_ne!(r.ids.jti, r.ids.family);
    }
}
