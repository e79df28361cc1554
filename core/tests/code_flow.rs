//! The authorization code flow through `core` alone: an authorization request is validated,
//! a code record is made from it, and a token request redeems it. Tables of bad inputs check
//! that each fails with its precise reason, and that errors before the client and redirect URI
//! are trusted are fatal (an error page) while later ones go back to the client.

use tessera_core::authorize::{self, AuthorizeError, Response, ResponseMode};
use tessera_core::error::{ErrorCode, Reason};
use tessera_core::form::Form;
use tessera_core::grants;
use tessera_core::grants::authorization_code::{self, Authentication, Code, Request};
use tessera_core::id_token::half_hash;
use tessera_core::model::{AccessTokenFormat, Client, GrantType, SigningAlg, TokenEndpointAuthMethod};
use tessera_core::pkce::{self, CodeChallengeMethod};

const ISS: &str = "https://id.example/t/acme";
const CB: &str = "https://app.example/cb";
const VECTOR: &str = include_str!("vectors/rfc7636_appendix_b.txt");

/// The value of `name` in the RFC 7636 vector file.
fn vector(name: &str) -> &'static str {
    VECTOR
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .expect("vector present")
}

fn client(id: &str, auth: TokenEndpointAuthMethod) -> Client {
    Client {
        tenant: "acme".into(),
        client_id: id.into(),
        client_name: id.into(),
        secret_digest: None,
        grant_types: vec![GrantType::AuthorizationCode],
        redirect_uris: vec![CB.into(), "https://app.example/other".into()],
        response_types: vec!["code".into(), "code id_token".into()],
        scope: vec!["openid".into(), "profile".into(), "read".into()],
        token_endpoint_auth_method: auth,
        access_token_format: AccessTokenFormat::Jwt,
        id_token_signed_response_alg: SigningAlg::RS256,
        post_logout_redirect_uris: vec![],
        first_party: false,
        created_at: 0,
        pkce_plain_allowed: false,
        grants_valid_from: 0,
        apis: None,
        token_rate_limit: None,
    }
}

fn spa() -> Client {
    client("spa", TokenEndpointAuthMethod::None)
}

fn authorize(query: &str) -> Result<authorize::AuthorizationRequest, AuthorizeError> {
    let form = Form::parse(query.as_bytes()).expect("form");
    let c = spa();
    let found = (authorize::client_id(&form)? == c.client_id).then_some(&c);
    authorize::validate(&form, found)
}

fn good_query() -> String {
    format!(
        "response_type=code&client_id=spa&redirect_uri={CB}&scope=openid+profile&state=st&nonce=n\
         &code_challenge={}&code_challenge_method=S256",
        vector("code_challenge")
    )
}

/// `good_query` with `name` removed or set to `value`.
fn with(name: &str, value: Option<&str>) -> String {
    let mut parts: Vec<String> =
        good_query().split('&').filter(|p| p.split('=').next() != Some(name)).map(str::to_owned).collect();
    if let Some(v) = value {
        parts.push(format!("{name}={v}"));
    }
    parts.join("&")
}

fn authn() -> Authentication {
    Authentication {
        sub: "user-1".into(),
        sid: "sid-1".into(),
        auth_time: 990,
        acr: None,
        amr: vec!["pwd".into()],
    }
}

#[test]
fn rfc7636_appendix_b_vector() {
    assert_eq!(vector("code_challenge_method"), "S256");
    assert_eq!(pkce::s256(vector("code_verifier")), vector("code_challenge"));
    assert!(pkce::verify(CodeChallengeMethod::S256, vector("code_challenge"), vector("code_verifier")));
}

#[test]
fn full_flow() {
    let req = authorize(&good_query()).expect("valid request");
    assert_eq!(req.response_mode, ResponseMode::Query);
    assert!(req.openid);
    let Response::Redirect(url) = req.success(&[("code", "the code")], ISS) else { panic!("query mode") };
    assert_eq!(url, format!("{CB}?code=the%20code&state=st&iss=https%3A%2F%2Fid.example%2Ft%2Facme"));

    let code = Code::new("acme", &req, authn(), 1000, 60);
    assert_eq!(code.expires_at, 1060);
    let body = format!(
        "grant_type=authorization_code&code=the+code&redirect_uri={CB}&code_verifier={}&client_id=spa",
        vector("code_verifier")
    );
    let form = Form::parse(body.as_bytes()).expect("form");
    let token_req = Request::parse(&form).expect("token request");
    assert_eq!(token_req.code, "the code");
    let v = authorization_code::validate(token_req, &spa(), code, 1001).expect("redeemed");
    assert_eq!(v.code.auth.sub, "user-1");
    assert_eq!(v.code.nonce.as_deref(), Some("n"));
    assert_eq!(v.code.scope, "openid profile");
}

#[test]
fn hybrid_flow_returns_fragment_with_c_hash() {
    let q = format!(
        "{}&response_type=id_token+code",
        with("response_type", None).replace("&code_challenge_method=S256", "")
    );
    let req = authorize(&q).expect("hybrid");
    assert_eq!(req.response_mode, ResponseMode::Fragment);
    let c_hash = half_hash(SigningAlg::RS256, "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk");
    assert_eq!(c_hash, "LDktKdoQak3Pk0cnXxCltA", "OpenID Connect Core A.4");
    let Response::Redirect(url) = req.success(&[("code", "c"), ("id_token", "x.y.z")], ISS) else {
        panic!("fragment")
    };
    assert!(url.starts_with(&format!("{CB}#code=c&id_token=x.y.z&state=st&iss=")), "{url}");
}

#[test]
fn bad_authorization_requests() {
    enum Where {
        Fatal,
        Redirect(ResponseMode),
    }
    use Where::{Fatal, Redirect};
    let q = ResponseMode::Query;
    let cases: Vec<(String, Reason, Where)> = vec![
        // Before the client and redirect URI are trusted: never a redirect.
        (with("client_id", None), Reason::MissingParameter, Fatal),
        (with("client_id", Some("nobody")), Reason::UnknownClient, Fatal),
        (with("redirect_uri", Some("https://evil.example/cb")), Reason::RedirectUriNotRegistered, Fatal),
        (with("redirect_uri", Some("https://app.example/cb/")), Reason::RedirectUriNotRegistered, Fatal),
        (with("redirect_uri", Some("https://APP.example/cb")), Reason::RedirectUriNotRegistered, Fatal),
        (with("redirect_uri", None), Reason::MissingParameter, Fatal),
        // A bad redirect URI stays fatal even when other parameters are also wrong.
        (
            with("response_type", Some("bogus"))
                .replace(&format!("redirect_uri={CB}"), "redirect_uri=https://evil.example"),
            Reason::RedirectUriNotRegistered,
            Fatal,
        ),
        // After: back to the client.
        (with("response_type", None), Reason::MissingParameter, Redirect(q)),
        (with("response_type", Some("bogus")), Reason::UnsupportedResponseType, Redirect(q)),
        (with("response_type", Some("token")), Reason::UnsupportedResponseType, Redirect(q)),
        (
            with("response_type", Some("id_token")),
            Reason::ResponseTypeNotAllowed,
            Redirect(ResponseMode::Fragment),
        ),
        (with("response_mode", Some("jar")), Reason::UnsupportedResponseMode, Redirect(q)),
        (
            format!("{}&response_type=code+id_token&response_mode=query", with("response_type", None)),
            Reason::ResponseModeNotAllowed,
            Redirect(ResponseMode::Fragment),
        ),
        (
            with("response_mode", Some("form_post")).replace("scope=", "scope=admin+"),
            Reason::ScopeNotAllowed,
            Redirect(ResponseMode::FormPost),
        ),
        (with("scope", Some("a\"b")), Reason::MalformedScope, Redirect(q)),
        (
            format!(
                "{}&response_type=code+id_token&scope=profile",
                with("response_type", None).replace("&scope=openid+profile", "")
            ),
            Reason::OpenidScopeMissing,
            Redirect(ResponseMode::Fragment),
        ),
        (
            format!("{}&response_type=code+id_token", with("response_type", None).replace("&nonce=n", "")),
            Reason::NonceMissing,
            Redirect(ResponseMode::Fragment),
        ),
        (with("nonce", Some(&"n".repeat(513))), Reason::MalformedParameter, Redirect(q)),
        (
            with("code_challenge", None).replace("&code_challenge_method=S256", ""),
            Reason::PkceRequired,
            Redirect(q),
        ),
        (with("code_challenge", None), Reason::MissingParameter, Redirect(q)),
        // `plain` needs the client's opt-in, which `spa` lacks (RFC 7636 4.2).
        (with("code_challenge_method", Some("plain")), Reason::PkceMethodNotAllowed, Redirect(q)),
        (
            with("code_challenge", Some(vector("code_verifier")))
                .replace("code_challenge_method=S256", "code_challenge_method=plain"),
            Reason::PkceMethodNotAllowed,
            Redirect(q),
        ),
        (with("code_challenge_method", Some("S512")), Reason::PkceMethodNotAllowed, Redirect(q)),
        (with("code_challenge", Some("tooshort")), Reason::MalformedParameter, Redirect(q)),
        (with("prompt", Some("none+login")), Reason::PromptNoneCombined, Redirect(q)),
        (with("prompt", Some("always")), Reason::MalformedParameter, Redirect(q)),
        (with("max_age", Some("-5")), Reason::MalformedParameter, Redirect(q)),
        (with("request", Some("eyJ.x.y")), Reason::RequestObjectNotSupported, Redirect(q)),
        (with("request_uri", Some("urn:x")), Reason::RequestUriNotSupported, Redirect(q)),
    ];
    for (query, reason, place) in cases {
        let err = authorize(&query).expect_err(&query);
        assert_eq!(err.error().reason, reason, "{query}");
        match (place, &err) {
            (Fatal, AuthorizeError::Fatal(_)) => assert_eq!(err.redirect(ISS), None),
            (Redirect(mode), AuthorizeError::Redirect { redirect_uri, response_mode, state, .. }) => {
                assert_eq!((redirect_uri.as_str(), *response_mode), (CB, mode), "{query}");
                assert_eq!(state.as_deref(), Some("st"), "{query}");
                let wire = ErrorCode::from(reason).as_str();
                match err.redirect(ISS).expect("redirect") {
                    Response::Redirect(url) => assert!(url.contains(&format!("error={wire}&")), "{url}"),
                    Response::FormPost { fields, .. } => assert_eq!(fields[0], ("error".into(), wire.into())),
                }
            }
            (_, other) => panic!("{query}: wrong kind of error {other:?}"),
        }
    }
}

/// `plain` PKCE end to end for a client that opted in: the challenge is the verifier itself, so
/// the token endpoint accepts exactly that verifier. The same requests from a client without the
/// opt-in are in `bad_authorization_requests`.
#[test]
fn plain_pkce_with_the_client_opt_in() {
    let verifier = vector("code_verifier");
    let lax = Client { pkce_plain_allowed: true, ..spa() };
    let plain_query = with("code_challenge", Some(verifier))
        .replace("code_challenge_method=S256", "code_challenge_method=plain");
    // RFC 7636 4.3: for this client a missing method means plain.
    let no_method = with("code_challenge_method", None).replace(vector("code_challenge"), verifier);
    for query in [plain_query, no_method] {
        let form = Form::parse(query.as_bytes()).expect("form");
        let req = authorize::validate(&form, Some(&lax)).expect(&query);
        let challenge = req.code_challenge.clone().expect("challenge");
        assert_eq!((challenge.method, challenge.challenge.as_str()), (CodeChallengeMethod::Plain, verifier));

        let code = Code::new("acme", &req, authn(), 1000, 60);
        let good = Request { code: "c", redirect_uri: Some(CB), code_verifier: Some(verifier) };
        assert!(authorization_code::validate(good, &lax, code.clone(), 1001).is_ok(), "{query}");
        // The S256 challenge of the verifier is not the verifier: under plain it must not match.
        let s256 = vector("code_challenge");
        for wrong in [s256, &"a".repeat(43)] {
            let bad = Request { code_verifier: Some(wrong), ..good };
            let err = authorization_code::validate(bad, &lax, code.clone(), 1001).expect_err(wrong);
            assert_eq!(err.reason, Reason::PkceVerifierMismatch, "{wrong}");
        }
    }
    assert!(pkce::verify(CodeChallengeMethod::Plain, verifier, verifier));
    assert!(!pkce::verify(CodeChallengeMethod::Plain, verifier, vector("code_challenge")));
    assert!(!pkce::verify(CodeChallengeMethod::Plain, verifier, &verifier.replace('d', "e")));

    // The opt-in does not take S256 away.
    let query = good_query();
    let form = Form::parse(query.as_bytes()).expect("form");
    let req = authorize::validate(&form, Some(&lax)).expect("S256");
    assert_eq!(req.code_challenge.expect("challenge").method, CodeChallengeMethod::S256);
    // Without it, a missing method keeps meaning S256 (and plain is refused: see the table).
    let req = authorize(&with("code_challenge_method", None)).expect("S256 by default");
    assert_eq!(req.code_challenge.expect("challenge").method, CodeChallengeMethod::S256);
}

#[test]
fn confidential_client_may_skip_pkce_and_the_code_needs_no_verifier() {
    let c = client("web", TokenEndpointAuthMethod::ClientSecretBasic);
    let q = format!("response_type=code&client_id=web&redirect_uri={CB}&scope=read");
    let form = Form::parse(q.as_bytes()).expect("form");
    let req = authorize::validate(&form, Some(&c)).expect("valid");
    assert_eq!(req.code_challenge, None);
    let code = Code::new("acme", &req, authn(), 1000, 60);
    let token = Request { code: "c", redirect_uri: Some(CB), code_verifier: None };
    assert!(authorization_code::validate(token, &c, code.clone(), 1000).is_ok());
    // A verifier for a code without a challenge is a downgrade attempt.
    let token = Request { code_verifier: Some(vector("code_verifier")), ..token };
    let err = authorization_code::validate(token, &c, code, 1000).expect_err("unexpected verifier");
    assert_eq!(err.reason, Reason::PkceVerifierUnexpected);
}

#[test]
fn bad_token_requests() {
    let req = authorize(&good_query()).expect("valid");
    let code = Code::new("acme", &req, authn(), 1000, 60);
    let verifier = vector("code_verifier");
    let good = Request { code: "c", redirect_uri: Some(CB), code_verifier: Some(verifier) };
    let other_verifier = "a".repeat(43);
    let cases: Vec<(Request<'_>, Client, i64, Reason)> = vec![
        (good, spa(), 1060, Reason::AuthorizationCodeExpired),
        (good, client("other", TokenEndpointAuthMethod::None), 1001, Reason::AuthorizationCodeWrongClient),
        (good, Client { tenant: "globex".into(), ..spa() }, 1001, Reason::AuthorizationCodeWrongClient),
        (Request { redirect_uri: None, ..good }, spa(), 1001, Reason::MissingParameter),
        (
            Request { redirect_uri: Some("https://app.example/other"), ..good },
            spa(),
            1001,
            Reason::RedirectUriMismatch,
        ),
        (Request { code_verifier: None, ..good }, spa(), 1001, Reason::PkceVerifierMissing),
        (Request { code_verifier: Some(&other_verifier), ..good }, spa(), 1001, Reason::PkceVerifierMismatch),
        (Request { code_verifier: Some("x"), ..good }, spa(), 1001, Reason::MalformedParameter),
        (
            good,
            Client { grant_types: vec![GrantType::ClientCredentials], ..spa() },
            1001,
            Reason::GrantTypeNotAllowed,
        ),
    ];
    // The chain the token endpoint runs: the grant-type check every grant shares, then the
    // code's own checks.
    for (token, c, now, reason) in cases {
        let err = grants::check_allowed(&c, GrantType::AuthorizationCode)
            .and_then(|()| authorization_code::validate(token, &c, code.clone(), now))
            .expect_err(&format!("{reason:?}"));
        assert_eq!(err.reason, reason, "{token:?} at {now}");
    }
    assert!(authorization_code::validate(good, &spa(), code, 1059).is_ok());
}
