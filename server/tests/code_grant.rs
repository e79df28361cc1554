//! The end-user grants at the token endpoint, driven over HTTP without a browser: the
//! authorization code grant (PKCE, single use, replay revoking what was issued), ID tokens
//! checked with an independent JOSE library, refresh-token rotation and reuse detection,
//! `/userinfo` claims per scope, refresh-token introspection and revocation, implicit and hybrid
//! responses, and tenant isolation of all of it.

mod common;

use common::{
    Backend, Client, Code, EndUser, Options, TestServer, both_backends, form_body, random_string,
    redirect_params, with_extra,
};
use http::Method;
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PASSWORD: &str = "correct horse battery staple";

/// A relying party registered in a tenant, and a user who can log in to it.
struct Rp {
    client: Client,
    user_id: String,
    username: String,
}

/// Creates a tenant (unless it is `default`), a first-party confidential client with `extra`
/// metadata merged in, and a user with profile and e-mail claims.
async fn setup(server: &TestServer, tenant: &str, extra: Value) -> Rp {
    if tenant != "default" {
        server.create_tenant(tenant, Value::Null).await;
    }
    let body = json!({
        "client_name": "Notes",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": [REDIRECT],
        "scope": "openid profile email phone offline_access",
        "first_party": true,
    });
    let client = Client::new(tenant, server.create_client(tenant, with_extra(body, extra)).await, REDIRECT);
    let username = format!("alice-{}", &random_string()[..8]);
    let user = server
        .create_user(
            tenant,
            json!({
                "username": username,
                "password": PASSWORD,
                "email": format!("{username}@example.com"),
                "email_verified": true,
                "name": "Alice Liddell",
                "given_name": "Alice",
                "family_name": "Liddell",
                "phone_number": "+44 1865 000000",
            }),
        )
        .await;
    let user_id = user["id"].as_str().expect("user id").to_owned();
    Rp { client, user_id, username }
}

/// A code for `scope` with PKCE and a nonce, from a fresh browser that logs in.
async fn code(server: &TestServer, rp: &Rp, scope: &str) -> Code {
    let mut browser = EndUser::new(server, &rp.client.tenant);
    browser.pkce_code(&rp.client, scope, &rp.username, PASSWORD).await
}

/// The token response (asserted 200) for the code of a fresh login with `scope`.
async fn tokens(server: &TestServer, rp: &Rp, scope: &str) -> Value {
    let mut browser = EndUser::new(server, &rp.client.tenant);
    browser.tokens(&rp.client, scope, &rp.username, PASSWORD).await
}

async fn code_flow_issues_verifiable_tokens(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rp = setup(&server, "default", json!({})).await;
    let Code { code, verifier, nonce } = code(&server, &rp, "openid profile email offline_access").await;
    let reply = server.exchange(&rp.client, &code, Some(&verifier)).await;
    reply.expect_status(200, "code exchange");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = &reply.json;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "openid profile email offline_access");
    let access = body["access_token"].as_str().expect("access token");
    let jwks = server.jwks("default").await.json;
    let at = common::verify_jwt(access, &jwks, "ES384", &server.issuer("default"));
    assert_eq!(at["sub"], rp.user_id.as_str(), "the access token names the user");
    assert_eq!(at["client_id"], rp.client.id.as_str());
    assert!(
        body["refresh_token"].as_str().is_some_and(|t| t.len() >= 43),
        "offline_access earns a refresh token"
    );

    let id = server.verify_id_token(&rp.client, body["id_token"].as_str().expect("id_token"), "RS256").await;
    assert_eq!(id["sub"], rp.user_id.as_str());
    assert_eq!(id["nonce"], nonce.as_str());
    assert_eq!(id["azp"], rp.client.id.as_str());
    assert_eq!(id["amr"], json!(["pwd"]));
    assert!(id["sid"].as_str().is_some_and(|s| !s.is_empty()), "sid");
    let auth_time = id["auth_time"].as_i64().expect("auth_time");
    assert!((common::now_secs() - auth_time).abs() < 300, "auth_time is the login");
    assert_eq!(id["at_hash"], common::at_hash_sha256(access).as_str(), "at_hash binds the access token");
    assert!(id.get("email").is_none(), "claims come from /userinfo when an access token is issued");

    let info = server.userinfo("default", access).await;
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
    let Code { code, verifier, .. } = code(&server, &rp, "openid offline_access").await;
    let first = server.exchange(&rp.client, &code, Some(&verifier)).await;
    first.expect_status(200, "first exchange");
    let access = first.json["access_token"].as_str().expect("access").to_owned();
    let refresh_token = first.json["refresh_token"].as_str().expect("refresh").to_owned();
    assert!(server.is_active("default", &rp.client.id, &rp.client.secret, &access).await);

    server.exchange(&rp.client, &code, Some(&verifier)).await.expect_oauth_error(
        400,
        "invalid_grant",
        "replay",
    );
    assert!(
        !server.is_active("default", &rp.client.id, &rp.client.secret, &access).await,
        "access token revoked"
    );
    server.userinfo("default", &access).await.expect_bearer_error(
        401,
        "invalid_token",
        "revoked token at userinfo",
    );
    server.refresh(&rp.client, &refresh_token, None).await.expect_oauth_error(
        400,
        "invalid_grant",
        "family revoked",
    );
}

#[tokio::test]
async fn opaque_tokens_of_a_replayed_code_are_revoked_too() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({ "access_token_format": "opaque" })).await;
    let Code { code, verifier, .. } = code(&server, &rp, "openid").await;
    let first = server.exchange(&rp.client, &code, Some(&verifier)).await;
    first.expect_status(200, "first exchange");
    let access = first.json["access_token"].as_str().expect("access").to_owned();
    assert!(!access.contains('.'), "opaque");
    assert!(first.json.get("refresh_token").is_some(), "registered for refresh_token");
    server.userinfo("default", &access).await.expect_status(200, "opaque token at userinfo");
    server.exchange(&rp.client, &code, Some(&verifier)).await.expect_oauth_error(
        400,
        "invalid_grant",
        "replay",
    );
    assert!(!server.is_active("default", &rp.client.id, &rp.client.secret, &access).await);
    server.userinfo("default", &access).await.expect_bearer_error(
        401,
        "invalid_token",
        "revoked opaque token",
    );
}

#[tokio::test]
async fn pkce_and_binding_failures_are_invalid_grant() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let (other_verifier, _) = common::pkce_pair();
    let Code { code: code1, .. } = code(&server, &rp, "openid").await;
    server.exchange(&rp.client, &code1, Some(&other_verifier)).await.expect_oauth_error(
        400,
        "invalid_grant",
        "PKCE mismatch",
    );
    let Code { code: code2, verifier: verifier2, .. } = code(&server, &rp, "openid").await;
    server.exchange(&rp.client, &code2, None).await.expect_oauth_error(
        400,
        "invalid_grant",
        "verifier missing",
    );
    let _ = verifier2;
    let Code { code: code3, verifier: verifier3, .. } = code(&server, &rp, "openid").await;
    let wrong_uri = Client { redirect_uri: "http://127.0.0.1:9/other".into(), ..rp.client.clone() };
    server.exchange(&wrong_uri, &code3, Some(&verifier3)).await.expect_oauth_error(
        400,
        "invalid_grant",
        "redirect_uri mismatch",
    );
    server.exchange(&rp.client, "no-such-code", Some(&verifier3)).await.expect_oauth_error(
        400,
        "invalid_grant",
        "unknown code",
    );
    // Another client of the tenant cannot redeem the code.
    let Code { code: code4, verifier: verifier4, .. } = code(&server, &rp, "openid").await;
    let other = server
        .create_client(
            "default",
            json!({ "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT], "scope": "openid" }),
        )
        .await;
    server
        .exchange(&Client::new("default", other, REDIRECT), &code4, Some(&verifier4))
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
    assert!(rp.client.secret.is_empty(), "public clients get no secret");
    let Code { code, verifier, .. } = code(&server, &rp, "openid profile").await;
    // A client without a secret sends its client_id in the form and no Authorization.
    let reply = server.exchange(&rp.client, &code, Some(&verifier)).await;
    reply.expect_status(200, "public client exchange");
    assert!(reply.json.get("refresh_token").is_none(), "no offline_access, not registered for refresh");
    assert!(reply.json["id_token"].is_string());
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    // The server's default grace: none.
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let Code { code, verifier, .. } = code(&server, &rp, "openid profile offline_access").await;
    let first = server.exchange(&rp.client, &code, Some(&verifier)).await;
    first.expect_status(200, "exchange");
    let rt0 = first.json["refresh_token"].as_str().expect("refresh").to_owned();

    let second = server.refresh(&rp.client, &rt0, None).await;
    second.expect_status(200, "first refresh");
    let rt1 = second.json["refresh_token"].as_str().expect("rotated").to_owned();
    assert_ne!(rt0, rt1, "rotated on every use");
    assert_eq!(second.json["scope"], "openid profile offline_access");
    let id = server
        .verify_id_token(&rp.client, second.json["id_token"].as_str().expect("id_token"), "RS256")
        .await;
    assert_eq!(id["sub"], rp.user_id.as_str());
    assert!(id.get("nonce").is_none(), "Core 12.2: no nonce in a refreshed ID token");
    let access1 = second.json["access_token"].as_str().expect("access").to_owned();
    server.userinfo("default", &access1).await.expect_status(200, "refreshed token at userinfo");

    // Narrower scope for the access token; the refresh token keeps the whole grant.
    let narrow = server.refresh(&rp.client, &rt1, Some("profile")).await;
    narrow.expect_status(200, "narrower scope");
    assert_eq!(narrow.json["scope"], "profile");
    assert!(narrow.json.get("id_token").is_none(), "no openid in the narrowed scope, no ID token");
    let rt2 = narrow.json["refresh_token"].as_str().expect("rotated").to_owned();
    server.refresh(&rp.client, &rt2, Some("profile email")).await.expect_oauth_error(
        400,
        "invalid_scope",
        "wider than the grant",
    );
    let whole = server.refresh(&rp.client, &rt2, None).await;
    whole.expect_status(200, "whole grant again");
    assert_eq!(whole.json["scope"], "openid profile offline_access");
    let rt3 = whole.json["refresh_token"].as_str().expect("rotated").to_owned();

    // A rotated token presented again: refused, and the whole family goes with it.
    server.refresh(&rp.client, &rt0, None).await.expect_oauth_error(400, "invalid_grant", "reuse");
    server.refresh(&rp.client, &rt3, None).await.expect_oauth_error(400, "invalid_grant", "family revoked");
}

#[tokio::test]
async fn a_retry_within_the_grace_period_is_not_a_replay() {
    // The longest grace a tenant may set: the retry below falls within it however slow the
    // machine.
    let mut options = Options::new(Backend::Software);
    options.extra_args = vec!["--refresh-reuse-grace-secs".into(), "300".into()];
    let server = TestServer::start_with(options).await;
    let rp = setup(&server, "default", json!({})).await;
    let rt0 =
        tokens(&server, &rp, "openid offline_access").await["refresh_token"].as_str().expect("rt").to_owned();
    let a = server.refresh(&rp.client, &rt0, None).await;
    a.expect_status(200, "first use");
    // The client lost the answer and retries: within the server's grace period.
    let b = server.refresh(&rp.client, &rt0, None).await;
    b.expect_status(200, "retry within the grace period");
    let rt_b = b.json["refresh_token"].as_str().expect("rt").to_owned();
    server.refresh(&rp.client, &rt_b, None).await.expect_status(200, "the retry's token works");
}

#[tokio::test]
async fn refresh_tokens_are_bound_to_their_client_and_tenant() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let rt =
        tokens(&server, &rp, "openid offline_access").await["refresh_token"].as_str().expect("rt").to_owned();
    let other = setup(&server, "default", json!({})).await;
    server.refresh(&other.client, &rt, None).await.expect_oauth_error(400, "invalid_grant", "another client");
    let elsewhere = setup(&server, "elsewhere", json!({})).await;
    server.refresh(&elsewhere.client, &rt, None).await.expect_oauth_error(
        400,
        "invalid_grant",
        "another tenant",
    );
    // The failed attempts changed nothing: the owner can still use it.
    server.refresh(&rp.client, &rt, None).await.expect_status(200, "owner");
}

#[tokio::test]
async fn refresh_tokens_can_be_introspected_by_their_client_and_revoked() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let rt =
        tokens(&server, &rp, "openid offline_access").await["refresh_token"].as_str().expect("rt").to_owned();
    let seen = server.introspect("default", &rp.client.id, &rp.client.secret, &rt).await;
    seen.expect_status(200, "introspect");
    assert_eq!(seen.json["active"], true);
    assert_eq!(seen.json["sub"], rp.user_id.as_str());
    let (rs_id, rs_secret) = server.cc_client("default", "read").await;
    assert!(!server.is_active("default", &rs_id, &rs_secret, &rt).await, "other clients learn nothing");
    server.revoke("default", &rp.client.id, &rp.client.secret, &rt).await.expect_status(200, "revoke");
    assert!(!server.is_active("default", &rp.client.id, &rp.client.secret, &rt).await);
    server.refresh(&rp.client, &rt, None).await.expect_oauth_error(400, "invalid_grant", "revoked");
}

#[tokio::test]
async fn refresh_tokens_survive_a_restart() {
    let mut server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let rt =
        tokens(&server, &rp, "openid offline_access").await["refresh_token"].as_str().expect("rt").to_owned();
    server.kill9();
    server.restart().await;
    server.refresh(&rp.client, &rt, None).await.expect_status(200, "refresh after kill -9");
}

#[tokio::test]
async fn userinfo_answers_per_scope_and_refuses_bad_tokens() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let access = tokens(&server, &rp, "openid phone").await["access_token"].as_str().expect("at").to_owned();
    let info = server.userinfo("default", &access).await;
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
    both.expect_bearer_error(400, "invalid_request", "token in two places");

    let none = server.get("/t/default/userinfo").await;
    none.expect_status(401, "no token");
    let challenge = none.header("www-authenticate").expect("challenge");
    assert!(challenge.starts_with("Bearer") && !challenge.contains("error="), "{challenge}");

    let bad = server.userinfo("default", "not-a-token").await;
    bad.expect_bearer_error(401, "invalid_token", "bad token");
    // Change the signature's first character to another one: every bit of it is significant.
    let at = access.rfind('.').expect("signature part") + 1;
    let other = if access[at..].starts_with('A') { "B" } else { "A" };
    let forged = format!("{}{other}{}", &access[..at], &access[at + 1..]);
    assert_ne!(forged, access);
    server.userinfo("default", &forged).await.expect_bearer_error(401, "invalid_token", "forged signature");

    // A client credentials token was never granted openid.
    let (cc_id, cc_secret) = server.cc_client("default", "read").await;
    let cc = server.cc_token("default", &cc_id, &cc_secret).await;
    let denied = server.userinfo("default", &cc).await;
    denied.expect_bearer_error(403, "insufficient_scope", "no openid scope");

    // Another tenant's token is useless here.
    server.create_tenant("other", Value::Null).await;
    server.userinfo("other", &access).await.expect_bearer_error(
        401,
        "invalid_token",
        "another tenant's token",
    );
}

#[tokio::test]
async fn codes_and_tokens_do_not_cross_tenants() {
    let server = TestServer::start(Backend::Software).await;
    let rp = setup(&server, "default", json!({})).await;
    let elsewhere = setup(&server, "acme", json!({})).await;
    let Code { code, verifier, .. } = code(&server, &rp, "openid").await;
    server.exchange(&elsewhere.client, &code, Some(&verifier)).await.expect_oauth_error(
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
        json!({
            "grant_types": ["authorization_code", "refresh_token", "implicit"],
            "response_types": ["code id_token", "id_token"],
            "id_token_signed_response_alg": "ES256",
        }),
    )
    .await;
    let nonce = random_string();
    let (challenge_verifier, challenge) = common::pkce_pair();
    let mut browser = EndUser::new(&server, "default");
    let reply = browser
        .sign_in(
            &[
                ("response_type", "code id_token"),
                ("client_id", &rp.client.id),
                ("redirect_uri", REDIRECT),
                ("scope", "openid email"),
                ("nonce", &nonce),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
            &rp.username,
            PASSWORD,
        )
        .await;
    let location = reply.header("location").expect("location").to_owned();
    assert!(location.contains('#'), "hybrid responses travel in the fragment: {location}");
    let params = redirect_params(&reply, REDIRECT, "hybrid response");
    let code = params.get("code").expect("code");
    let id = server.verify_id_token(&rp.client, params.get("id_token").expect("id_token"), "ES256").await;
    assert_eq!(id["c_hash"], common::at_hash_sha256(code).as_str(), "c_hash binds the code");
    assert_eq!(id["nonce"], nonce.as_str());
    server
        .exchange(&rp.client, code, Some(&challenge_verifier))
        .await
        .expect_status(200, "hybrid code exchange");

    // `id_token` alone: the claims travel in the ID token (Core 5.4). The session is reused.
    let reply = browser
        .authorize(&[
            ("response_type", "id_token"),
            ("client_id", &rp.client.id),
            ("redirect_uri", REDIRECT),
            ("scope", "openid email"),
            ("nonce", &nonce),
        ])
        .await;
    let params = redirect_params(&reply, REDIRECT, "implicit response");
    let id = server.verify_id_token(&rp.client, params.get("id_token").expect("id_token"), "ES256").await;
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
