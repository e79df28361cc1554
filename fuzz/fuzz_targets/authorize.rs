//! Authorization request parsing (`tessera_core::authorize`), from the raw query string on.
//! The first byte picks the registered client (public or confidential, one or two redirect
//! URIs, which response types, `plain` PKCE or not, or no client at all); the rest is the
//! query. Whatever the request, an answer goes only to a registered redirect URI, and a request
//! that is accepted keeps every rule: scope within the client's, no tokens in a query, a nonce
//! with an ID token, PKCE for public clients, `prompt=none` alone.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::authorize::{self, AuthorizationRequest, AuthorizeError, Response, ResponseMode};
use tessera_core::form::Form;
use tessera_core::model::{AccessTokenFormat, Client, GrantType, SigningAlg, TokenEndpointAuthMethod};
use tessera_core::pkce::CodeChallengeMethod;
use tessera_core::scope;

const ISSUER: &str = "https://id.example/t/acme";

fn client(pick: u8) -> Client {
    let mut redirect_uris = vec!["https://app.example/cb".to_owned()];
    if pick & 1 != 0 {
        redirect_uris.push("https://app.example/cb2?x=1".to_owned());
    }
    let mut grant_types = vec![GrantType::RefreshToken];
    if pick & 2 == 0 {
        grant_types.push(GrantType::AuthorizationCode);
    }
    let response_types = match (pick >> 2) & 3 {
        0 => vec!["code".to_owned()],
        1 => vec!["code".to_owned(), "id_token token".to_owned()],
        2 => vec!["code id_token".to_owned(), "id_token".to_owned()],
        _ => vec![],
    };
    Client {
        tenant: "acme".into(),
        client_id: "app".into(),
        client_name: "app".into(),
        secret_digest: None,
        grant_types,
        redirect_uris,
        response_types,
        scope: vec!["openid".into(), "profile".into(), "read".into()],
        token_endpoint_auth_method: if pick & 16 != 0 {
            TokenEndpointAuthMethod::None
        } else {
            TokenEndpointAuthMethod::ClientSecretBasic
        },
        access_token_format: AccessTokenFormat::Jwt,
        id_token_signed_response_alg: SigningAlg::RS256,
        post_logout_redirect_uris: vec![],
        first_party: false,
        created_at: 0,
        pkce_plain_allowed: pick & 32 != 0,
        grants_valid_from: 0,
        token_rate_limit: None,
    }
}

/// The parameters a response carries after the redirect URI, decoded again.
fn response_params(response: &Response, redirect_uri: &str) -> Vec<(String, String)> {
    match response {
        Response::FormPost { action, fields } => {
            assert_eq!(action, redirect_uri);
            fields.clone()
        }
        Response::Redirect(url) => {
            let rest = url.strip_prefix(redirect_uri).expect("the response goes to the redirect URI");
            let rest = rest.strip_prefix(['?', '&', '#']).unwrap_or(rest);
            let form = Form::parse(rest.as_bytes()).expect("response parameters decode");
            form.pairs().map(|(n, v)| (n.to_owned(), v.to_owned())).collect()
        }
    }
}

fn check_accepted(req: &AuthorizationRequest, form: &Form<'_>, client: &Client) {
    assert_eq!(req.client_id, client.client_id);
    assert!(client.redirect_uris.contains(&req.redirect_uri));
    assert_eq!(req.redirect_uri_sent, form.get("redirect_uri").is_some());
    assert!(req.response_type.allowed_for(client));
    assert!(!(req.response_mode == ResponseMode::Query && req.response_type.returns_tokens()));
    let granted = scope::parse(&req.scope).expect("a granted scope parses");
    assert!(granted.iter().all(|s| client.scope.iter().any(|c| c == s)), "{:?}", req.scope);
    assert_eq!(req.openid, scope::contains(&req.scope, scope::OPENID));
    if req.response_type.id_token {
        assert!(req.openid && req.nonce.is_some());
    }
    assert!(req.nonce.as_ref().is_none_or(|n| n.len() <= authorize::MAX_NONCE_BYTES));
    if req.response_type.code && client.token_endpoint_auth_method == TokenEndpointAuthMethod::None {
        assert!(req.code_challenge.is_some(), "public client without PKCE");
    }
    if let Some(c) = &req.code_challenge {
        assert!(c.method == CodeChallengeMethod::S256 || client.pkce_plain_allowed);
    }
    assert!(!req.prompt.none || !(req.prompt.login || req.prompt.consent || req.prompt.select_account));
    assert!(form.get("request").is_none() && form.get("request_uri").is_none());
    assert_eq!(req.state.as_deref(), form.get("state"));

    let params = response_params(&req.success(&[("code", "c0de")], ISSUER), &req.redirect_uri);
    let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    assert_eq!(get("code"), Some("c0de"));
    assert_eq!(get("iss"), Some(ISSUER));
    assert_eq!(get("state"), req.state.as_deref().filter(|s| !s.is_empty()));
}

fn check_refused(err: &AuthorizeError, client: Option<&Client>, state_sent: Option<&str>) {
    let AuthorizeError::Redirect { redirect_uri, state, .. } = err else { return };
    let client = client.expect("an error redirected without a known client");
    assert!(client.redirect_uris.contains(redirect_uri), "open redirect to {redirect_uri:?}");
    assert_eq!(state.as_deref(), state_sent);
    let response = err.redirect(ISSUER).expect("a redirect error redirects");
    let params = response_params(&response, redirect_uri);
    assert!(params.iter().any(|(n, v)| n == "error" && v == err.error().code().as_str()));
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, query)) = data.split_first() else { return };
    let registered = client(pick);
    let client = (pick & 64 == 0).then_some(&registered);
    let Ok((form, repeated)) = Form::parse_first(query) else { return };
    if repeated.is_empty() {
        match authorize::validate(&form, client) {
            Ok(req) => check_accepted(&req, &form, client.expect("accepted without a client")),
            Err(err) => check_refused(&err, client, form.get("state")),
        }
    } else {
        let err = authorize::repeated_parameter(&form, client, &repeated);
        if repeated.iter().any(|r| r == "client_id" || r == "redirect_uri") {
            assert!(matches!(err, AuthorizeError::Fatal(_)));
        }
        let state = form.get("state").filter(|_| !repeated.iter().any(|r| r == "state"));
        check_refused(&err, client, state);
    }
});
