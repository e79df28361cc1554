//! The end-user grants at the token endpoint, driven over HTTP without a browser: the
//! authorization code grant (PKCE, single use, replay revoking what was issued), ID tokens
//! checked with an independent JOSE library, refresh-token rotation and reuse detection,
//! `/userinfo` claims per scope, refresh-token introspection and revocation, implicit and hybrid
//! responses, and tenant isolation of all of it.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Backend, Options, Reply, TestServer, basic_auth, both_backends, form_body, random_string};
use http::Method;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PASSWORD: &str = "correct horse battery staple";

/// A relying party registered in a tenant, and a user who can log in to it.
struct Rp {
    tenant: String,
    client_id: String,
    secret: String,
    user_id: String,
    username: String,
}

impl Rp {
    fn auth(&self) -> String {
        basic_auth(&self.client_id, &self.secret)
    }
}

/// Creates a tenant (unless it is `default`), a first-party confidential client with `extra`
/// metadata merged in, and a user with profile and e-mail claims.
async fn setup(server: &TestServer, tenant: &str, extra: Value) -> Rp {
    if tenant != "default" {
        server.create_tenant(tenant, Value::Null).await;
    }
    let mut body = json!({
        "client_name": "Notes",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": [REDIRECT],
        "scope": "openid profile email phone offline_access",
        "first_party": true,
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            body.insert(k.clone(), v.clone());
        }
    }
    let (client_id, secret) = server.create_client(tenant, body).await;
    let username = format!("alice-{}", &random_string()[..8]);
    let reply = server
        .admin(
            Method::POST,
            &format!("/tenants/{tenant}/users"),
            Some(json!({
                "username": username,
                "password": PASSWORD,
                "email": format!("{username}@example.com"),
                "email_verified": true,
                "name": "Alice Liddell",
                "given_name": "Alice",
                "family_name": "Liddell",
                "phone_number": "+44 1865 000000",
            })),
        )
        .await;
    reply.expect_status(201, "create user");
    let user_id = reply.json["id"].as_str().expect("user id").to_owned();
    Rp { tenant: tenant.to_owned(), client_id, secret, user_id, username }
}

/// The parameters of a redirect to the RP, from the query or the fragment of its Location.
fn redirect_params(reply: &Reply) -> Vec<(String, String)> {
    assert_eq!(reply.status.as_u16(), 303, "a redirect to the client; body: {}", reply.text);
    let location = reply.header("location").expect("Location");
    assert!(location.starts_with(REDIRECT), "redirects to the registered URI: {location}");
    let url = reqwest::Url::parse(location).expect("Location is a URL");
    let from_fragment = url.fragment().map(|f| {
        reqwest::Url::parse(&format!("http://x/?{f}")).expect("fragment").query_pairs().into_owned().collect()
    });
    from_fragment.unwrap_or_else(|| url.query_pairs().into_owned().collect())
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Sends the browser to `/authorize` with `query`, logs in on the page it gets, and returns the
/// redirect to the client (first-party clients skip consent) and the session cookie.
async fn log_in(server: &TestServer, rp: &Rp, query: &[(&str, &str)]) -> (Reply, String) {
    let path = format!("/t/{}/authorize?{}", rp.tenant, form_body(query));
    let page = server.get(&path).await;
    page.expect_status(200, "login page");
    let csrf = common::set_cookie_value(&page, "tessera_csrf").expect("CSRF cookie on the login page");
    let body = form_body(&[
        ("csrf", &common::hidden_input(&page.text, "csrf")),
        ("request", &common::hidden_input(&page.text, "request")),
        ("username", &rp.username),
        ("password", PASSWORD),
    ]);
    let cookie = format!("tessera_csrf={csrf}");
    let reply = server
        .send(
            Method::POST,
            &format!("/t/{}/login", rp.tenant),
            &[("content-type", "application/x-www-form-urlencoded"), ("cookie", &cookie)],
            Some(body.into_bytes()),
        )
        .await;
    let session = common::set_cookie_value(&reply, "tessera_session").expect("session cookie after login");
    (reply, session)
}

/// A code for `scope` with PKCE and a nonce: returns the code, the verifier and the nonce.
async fn code(server: &TestServer, rp: &Rp, scope: &str) -> (String, String, String) {
    let (verifier, challenge) = common::pkce_pair();
    let nonce = random_string();
    let (reply, _) = log_in(
        server,
        rp,
        &[
            ("response_type", "code"),
            ("client_id", &rp.client_id),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "st-1"),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let params = redirect_params(&reply);
    assert_eq!(param(&params, "state"), Some("st-1"));
    assert_eq!(param(&params, "iss"), Some(server.issuer(&rp.tenant).as_str()), "RFC 9207 iss");
    (param(&params, "code").expect("code").to_owned(), verifier, nonce)
}

async fn exchange(server: &TestServer, rp: &Rp, code: &str, verifier: &str) -> Reply {
    let body = form_body(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ]);
    server.post_form(&rp.tenant, "token", Some(&rp.auth()), &body).await
}

async fn refresh(server: &TestServer, rp: &Rp, token: &str, scope: Option<&str>) -> Reply {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    server.post_form(&rp.tenant, "token", Some(&rp.auth()), &form_body(&form)).await
}

async fn userinfo(server: &TestServer, tenant: &str, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    server.send(Method::GET, &format!("/t/{tenant}/userinfo"), &[("authorization", &auth)], None).await
}

/// Verifies an ID token with `jsonwebtoken` against the served JWKS and returns its claims.
async fn verify_id_token(server: &TestServer, rp: &Rp, token: &str, alg: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("ID token header");
    let alg: Algorithm = alg.parse().expect("algorithm");
    assert_eq!(header.alg, alg, "ID token alg");
    let jwks = server.jwks(&rp.tenant).await.json;
    let set: JwkSet = serde_json::from_value(jwks).expect("JWKS");
    let kid = header.kid.expect("kid");
    let key = DecodingKey::from_jwk(set.find(&kid).expect("kid published")).expect("key");
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[server.issuer(&rp.tenant)]);
    validation.set_audience(&[&rp.client_id]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation).expect("the ID token verifies").claims
}

/// OpenID Connect Core 3.1.3.6 `at_hash` for a SHA-256 algorithm.
fn at_hash_sha256(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(access_token.as_bytes())[..16])
}

async fn code_flow_issues_verifiable_tokens(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = setup(&server, "default", json!({})).await;
    let (code, verifier, nonce) = code(&server, &rp, "openid profile email offline_access").await;
    let reply = exchange(&server, &rp, &code, &verifier).await;
    reply.expect_status(200, "code exchange");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = &reply.json;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "openid profile email offline_access");
    let access = body["access_token"].as_str().expect("access token");
    let jwks = server.jwks("default").await.json;
    let at = common::verify_jwt(access, &jwks, "ES384", &server.issuer("default"));
    assert_eq!(at["sub"], rp.user_id.as_str(), "the access token names the user");
    assert_eq!(at["client_id"], rp.client_id.as_str());
    assert!(
        body["refresh_token"].as_str().is_some_and(|t| t.len() >= 43),
        "offline_access earns a refresh token"
    );

    let id = verify_id_token(&server, &rp, body["id_token"].as_str().expect("id_token"), "RS256").await;
    assert_eq!(id["sub"], rp.user_id.as_str());
    assert_eq!(id["nonce"], nonce.as_str());
    assert_eq!(id["azp"], rp.client_id.as_str());
    assert_eq!(id["amr"], json!(["pwd"]));
    assert!(id["sid"].as_str().is_some_and(|s| !s.is_empty()), "sid");
    let auth_time = id["auth_time"].as_i64().expect("auth_time");
    assert!((common::now_secs() - auth_time).abs() < 300, "auth_time is the login");
    assert_eq!(id["at_hash"], at_hash_sha256(access).as_str(), "at_hash binds the access token");
    assert!(id.get("email").is_none(), "claims come from /userinfo when an access token is issued");

    let info = userinfo(&server, "default", access).await;
    info.expect_status(200, "userinfo");
    assert_eq!(info.json["sub"], rp.user_id.as_str());
    assert_eq!(info.json["name"], "Alice Liddell");
    assert_eq!(info.json["email"], format!("{}@example.com", rp.username).as_str());
    assert_eq!(info.json["email_verified"], true);
    assert!(info.json.get("phone_number").is_none(), "phone was not granted");
    server.assert_alive();
}
both_backends!(code_flow_issues_verifiable_tokens);

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_what_it_issued() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let (code, verifier, _) = code(&server, &rp, "openid offline_access").await;
    let first = exchange(&server, &rp, &code, &verifier).await;
    first.expect_status(200, "first exchange");
    let access = first.json["access_token"].as_str().expect("access").to_owned();
    let refresh_token = first.json["refresh_token"].as_str().expect("refresh").to_owned();
    assert!(server.is_active("default", &rp.client_id, &rp.secret, &access).await);

    exchange(&server, &rp, &code, &verifier).await.expect_oauth_error(400, "invalid_grant", "replay");
    assert!(!server.is_active("default", &rp.client_id, &rp.secret, &access).await, "access token revoked");
    userinfo(&server, "default", &access).await.expect_status(401, "revoked token at userinfo");
    refresh(&server, &rp, &refresh_token, None).await.expect_oauth_error(
        400,
        "invalid_grant",
        "family revoked",
    );
}

#[tokio::test]
async fn opaque_tokens_of_a_replayed_code_are_revoked_too() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({ "access_token_format": "opaque" })).await;
    let (code, verifier, _) = code(&server, &rp, "openid").await;
    let first = exchange(&server, &rp, &code, &verifier).await;
    first.expect_status(200, "first exchange");
    let access = first.json["access_token"].as_str().expect("access").to_owned();
    assert!(!access.contains('.'), "opaque");
    assert!(first.json.get("refresh_token").is_some(), "registered for refresh_token");
    userinfo(&server, "default", &access).await.expect_status(200, "opaque token at userinfo");
    exchange(&server, &rp, &code, &verifier).await.expect_oauth_error(400, "invalid_grant", "replay");
    assert!(!server.is_active("default", &rp.client_id, &rp.secret, &access).await);
    userinfo(&server, "default", &access).await.expect_status(401, "revoked opaque token");
}

#[tokio::test]
async fn pkce_and_binding_failures_are_invalid_grant() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let (other_verifier, _) = common::pkce_pair();
    let (code1, _, _) = code(&server, &rp, "openid").await;
    exchange(&server, &rp, &code1, &other_verifier).await.expect_oauth_error(
        400,
        "invalid_grant",
        "PKCE mismatch",
    );
    let (code2, verifier2, _) = code(&server, &rp, "openid").await;
    let no_verifier =
        form_body(&[("grant_type", "authorization_code"), ("code", &code2), ("redirect_uri", REDIRECT)]);
    server.post_form("default", "token", Some(&rp.auth()), &no_verifier).await.expect_oauth_error(
        400,
        "invalid_grant",
        "verifier missing",
    );
    let _ = verifier2;
    let (code3, verifier3, _) = code(&server, &rp, "openid").await;
    let wrong_uri = form_body(&[
        ("grant_type", "authorization_code"),
        ("code", &code3),
        ("redirect_uri", "http://127.0.0.1:9/other"),
        ("code_verifier", &verifier3),
    ]);
    server.post_form("default", "token", Some(&rp.auth()), &wrong_uri).await.expect_oauth_error(
        400,
        "invalid_grant",
        "redirect_uri mismatch",
    );
    exchange(&server, &rp, "no-such-code", &verifier3).await.expect_oauth_error(
        400,
        "invalid_grant",
        "unknown code",
    );
    // Another client of the tenant cannot redeem the code.
    let (code4, verifier4, _) = code(&server, &rp, "openid").await;
    let (other_id, other_secret) = server
        .create_client(
            "default",
            json!({ "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT], "scope": "openid" }),
        )
        .await;
    let body = form_body(&[
        ("grant_type", "authorization_code"),
        ("code", &code4),
        ("redirect_uri", REDIRECT),
        ("code_verifier", &verifier4),
    ]);
    server
        .post_form("default", "token", Some(&basic_auth(&other_id, &other_secret)), &body)
        .await
        .expect_oauth_error(400, "invalid_grant", "another client's code");
}

#[tokio::test]
async fn public_clients_redeem_with_pkce_and_no_secret() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(
        &server,
        "default",
        json!({ "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"] }),
    )
    .await;
    assert!(rp.secret.is_empty(), "public clients get no secret");
    let (code, verifier, _) = code(&server, &rp, "openid profile").await;
    let body = form_body(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", &verifier),
        ("client_id", &rp.client_id),
    ]);
    let reply = server.post_form("default", "token", None, &body).await;
    reply.expect_status(200, "public client exchange");
    assert!(reply.json.get("refresh_token").is_none(), "no offline_access, not registered for refresh");
    assert!(reply.json["id_token"].is_string());
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let mut options = Options::new(Backend::Software);
    options.extra_args = vec!["--refresh-reuse-grace-secs".into(), "0".into()];
    let server = TestServer::start_with(options).await;
    let rp = setup(&server, "default", json!({})).await;
    let (code, verifier, _) = code(&server, &rp, "openid profile offline_access").await;
    let first = exchange(&server, &rp, &code, &verifier).await;
    first.expect_status(200, "exchange");
    let rt0 = first.json["refresh_token"].as_str().expect("refresh").to_owned();

    let second = refresh(&server, &rp, &rt0, None).await;
    second.expect_status(200, "first refresh");
    let rt1 = second.json["refresh_token"].as_str().expect("rotated").to_owned();
    assert_ne!(rt0, rt1, "rotated on every use");
    assert_eq!(second.json["scope"], "openid profile offline_access");
    let id =
        verify_id_token(&server, &rp, second.json["id_token"].as_str().expect("id_token"), "RS256").await;
    assert_eq!(id["sub"], rp.user_id.as_str());
    assert!(id.get("nonce").is_none(), "Core 12.2: no nonce in a refreshed ID token");
    let access1 = second.json["access_token"].as_str().expect("access").to_owned();
    userinfo(&server, "default", &access1).await.expect_status(200, "refreshed token at userinfo");

    // Narrower scope for the access token; the refresh token keeps the whole grant.
    let narrow = refresh(&server, &rp, &rt1, Some("profile")).await;
    narrow.expect_status(200, "narrower scope");
    assert_eq!(narrow.json["scope"], "profile");
    assert!(narrow.json.get("id_token").is_none(), "no openid in the narrowed scope, no ID token");
    let rt2 = narrow.json["refresh_token"].as_str().expect("rotated").to_owned();
    refresh(&server, &rp, &rt2, Some("profile email")).await.expect_oauth_error(
        400,
        "invalid_scope",
        "wider than the grant",
    );
    let whole = refresh(&server, &rp, &rt2, None).await;
    whole.expect_status(200, "whole grant again");
    assert_eq!(whole.json["scope"], "openid profile offline_access");
    let rt3 = whole.json["refresh_token"].as_str().expect("rotated").to_owned();

    // A rotated token presented again: refused, and the whole family goes with it.
    refresh(&server, &rp, &rt0, None).await.expect_oauth_error(400, "invalid_grant", "reuse");
    refresh(&server, &rp, &rt3, None).await.expect_oauth_error(400, "invalid_grant", "family revoked");
}

#[tokio::test]
async fn a_retry_within_the_grace_period_is_not_a_replay() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let (code, verifier, _) = code(&server, &rp, "openid offline_access").await;
    let rt0 =
        exchange(&server, &rp, &code, &verifier).await.json["refresh_token"].as_str().expect("rt").to_owned();
    let a = refresh(&server, &rp, &rt0, None).await;
    a.expect_status(200, "first use");
    // The client lost the answer and retries at once: within the default 10 s grace period.
    let b = refresh(&server, &rp, &rt0, None).await;
    b.expect_status(200, "retry within the grace period");
    let rt_b = b.json["refresh_token"].as_str().expect("rt").to_owned();
    refresh(&server, &rp, &rt_b, None).await.expect_status(200, "the retry's token works");
}

#[tokio::test]
async fn refresh_tokens_are_bound_to_their_client_and_tenant() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let (code, verifier, _) = code(&server, &rp, "openid offline_access").await;
    let rt =
        exchange(&server, &rp, &code, &verifier).await.json["refresh_token"].as_str().expect("rt").to_owned();
    let other = setup(&server, "default", json!({})).await;
    refresh(&server, &other, &rt, None).await.expect_oauth_error(400, "invalid_grant", "another client");
    let elsewhere = setup(&server, "elsewhere", json!({})).await;
    refresh(&server, &elsewhere, &rt, None).await.expect_oauth_error(400, "invalid_grant", "another tenant");
    // The failed attempts changed nothing: the owner can still use it.
    refresh(&server, &rp, &rt, None).await.expect_status(200, "owner");
}

#[tokio::test]
async fn refresh_tokens_can_be_introspected_by_their_client_and_revoked() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let (code, verifier, _) = code(&server, &rp, "openid offline_access").await;
    let rt =
        exchange(&server, &rp, &code, &verifier).await.json["refresh_token"].as_str().expect("rt").to_owned();
    let seen = server.introspect("default", &rp.client_id, &rp.secret, &rt).await;
    seen.expect_status(200, "introspect");
    assert_eq!(seen.json["active"], true);
    assert_eq!(seen.json["sub"], rp.user_id.as_str());
    let (rs_id, rs_secret) = server.cc_client("default", "read").await;
    assert!(!server.is_active("default", &rs_id, &rs_secret, &rt).await, "other clients learn nothing");
    server.revoke("default", &rp.client_id, &rp.secret, &rt).await.expect_status(200, "revoke");
    assert!(!server.is_active("default", &rp.client_id, &rp.secret, &rt).await);
    refresh(&server, &rp, &rt, None).await.expect_oauth_error(400, "invalid_grant", "revoked");
}

#[tokio::test]
async fn refresh_tokens_survive_a_restart() {
    let mut server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let (code, verifier, _) = code(&server, &rp, "openid offline_access").await;
    let rt =
        exchange(&server, &rp, &code, &verifier).await.json["refresh_token"].as_str().expect("rt").to_owned();
    server.kill9();
    server.restart().await;
    refresh(&server, &rp, &rt, None).await.expect_status(200, "refresh after kill -9");
}

#[tokio::test]
async fn userinfo_answers_per_scope_and_refuses_bad_tokens() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let (code, verifier, _) = code(&server, &rp, "openid phone").await;
    let access =
        exchange(&server, &rp, &code, &verifier).await.json["access_token"].as_str().expect("at").to_owned();
    let info = userinfo(&server, "default", &access).await;
    info.expect_status(200, "userinfo");
    assert_eq!(info.json["phone_number"], "+44 1865 000000");
    assert_eq!(info.json["phone_number_verified"], false);
    assert!(info.json.get("email").is_none() && info.json.get("name").is_none(), "{}", info.text);

    // POST with the token in the form body (RFC 6750 2.2).
    let form = server
        .send(
            Method::POST,
            "/t/default/userinfo",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(form_body(&[("access_token", &access)]).into_bytes()),
        )
        .await;
    form.expect_status(200, "userinfo POST");
    assert_eq!(form.json, info.json);
    // Both places at once is a malformed request.
    let auth = format!("Bearer {access}");
    let both = server
        .send(
            Method::POST,
            "/t/default/userinfo",
            &[("content-type", "application/x-www-form-urlencoded"), ("authorization", &auth)],
            Some(form_body(&[("access_token", &access)]).into_bytes()),
        )
        .await;
    both.expect_status(400, "token in two places");

    let none = server.get("/t/default/userinfo").await;
    none.expect_status(401, "no token");
    let challenge = none.header("www-authenticate").expect("challenge");
    assert!(challenge.starts_with("Bearer") && !challenge.contains("error="), "{challenge}");

    let bad = userinfo(&server, "default", "not-a-token").await;
    bad.expect_status(401, "bad token");
    assert!(bad.header("www-authenticate").expect("challenge").contains("error=\"invalid_token\""));
    // Change the signature's first character to another one: every bit of it is significant.
    let at = access.rfind('.').expect("signature part") + 1;
    let other = if access[at..].starts_with('A') { "B" } else { "A" };
    let forged = format!("{}{other}{}", &access[..at], &access[at + 1..]);
    assert_ne!(forged, access);
    userinfo(&server, "default", &forged).await.expect_status(401, "forged signature");

    // A client credentials token was never granted openid.
    let (cc_id, cc_secret) = server.cc_client("default", "read").await;
    let cc = server.cc_token("default", &cc_id, &cc_secret).await;
    let denied = userinfo(&server, "default", &cc).await;
    denied.expect_status(403, "no openid scope");
    assert!(denied.header("www-authenticate").expect("challenge").contains("insufficient_scope"));

    // Another tenant's token is useless here.
    server.create_tenant("other", Value::Null).await;
    userinfo(&server, "other", &access).await.expect_status(401, "another tenant's token");
}

#[tokio::test]
async fn codes_and_tokens_do_not_cross_tenants() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let elsewhere = setup(&server, "acme", json!({})).await;
    let (code, verifier, _) = code(&server, &rp, "openid").await;
    exchange(&server, &elsewhere, &code, &verifier).await.expect_oauth_error(
        400,
        "invalid_grant",
        "other tenant",
    );
}

#[tokio::test]
async fn hybrid_and_implicit_responses_carry_bound_tokens() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(
        &server,
        "default",
        json!({ "response_types": ["code id_token", "id_token"], "id_token_signed_response_alg": "ES256" }),
    )
    .await;
    let nonce = random_string();
    let (challenge_verifier, challenge) = common::pkce_pair();
    let (reply, session) = log_in(
        &server,
        &rp,
        &[
            ("response_type", "code id_token"),
            ("client_id", &rp.client_id),
            ("redirect_uri", REDIRECT),
            ("scope", "openid email"),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let location = reply.header("location").expect("location").to_owned();
    assert!(location.contains('#'), "hybrid responses travel in the fragment: {location}");
    let params = redirect_params(&reply);
    let code = param(&params, "code").expect("code");
    let id = verify_id_token(&server, &rp, param(&params, "id_token").expect("id_token"), "ES256").await;
    assert_eq!(id["c_hash"], at_hash_sha256(code).as_str(), "c_hash binds the code");
    assert_eq!(id["nonce"], nonce.as_str());
    exchange(&server, &rp, code, &challenge_verifier).await.expect_status(200, "hybrid code exchange");

    // `id_token` alone: the claims travel in the ID token (Core 5.4). The session is reused.
    let query = form_body(&[
        ("response_type", "id_token"),
        ("client_id", &rp.client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email"),
        ("nonce", &nonce),
    ]);
    let cookie = format!("tessera_session={session}");
    let reply = server
        .send(Method::GET, &format!("/t/default/authorize?{query}"), &[("cookie", &cookie)], None)
        .await;
    let params = redirect_params(&reply);
    let id = verify_id_token(&server, &rp, param(&params, "id_token").expect("id_token"), "ES256").await;
    assert_eq!(id["email"], format!("{}@example.com", rp.username).as_str());
    assert!(id.get("c_hash").is_none() && id.get("at_hash").is_none());
}

#[tokio::test]
async fn discovery_advertises_the_end_user_endpoints() {
    let server = TestServer::start(Backend::Software).await;
    let doc = server.discovery("default").await.json;
    let issuer = server.issuer("default");
    for (field, path) in [
        ("authorization_endpoint", "/authorize"),
        ("userinfo_endpoint", "/userinfo"),
        ("end_session_endpoint", "/logout"),
        ("token_endpoint", "/token"),
    ] {
        assert_eq!(doc[field], format!("{issuer}{path}").as_str(), "{field}");
    }
    for grant in ["authorization_code", "refresh_token", "client_credentials"] {
        assert!(doc["grant_types_supported"].as_array().expect("grants").contains(&json!(grant)), "{grant}");
    }
    assert!(
        doc["token_endpoint_auth_methods_supported"].as_array().expect("methods").contains(&json!("none"))
    );
    assert_eq!(doc["response_modes_supported"], json!(["query", "fragment", "form_post"]));
}
