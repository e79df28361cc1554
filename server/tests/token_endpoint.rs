//! The token endpoint with the client credentials grant (RFC 6749 4.4), on the real binary:
//! RFC 9068 JWT access tokens for each signing algorithm (ES384 by default, ES256, RS256, EdDSA
//! set through the tenant settings), verified with the independent `jsonwebtoken` crate against
//! the served JWKS, on software keys and on SoftHSM2; client authentication by
//! `client_secret_basic` and `client_secret_post`; scope selection; opaque tokens; and the
//! response headers.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use common::{Backend, TestServer, both_backends, verify_jwt};
use serde_json::{Value, json};

/// Issues a token at `tenant` (whose access tokens use `alg`) and checks it all the way through:
/// response, header, claims, signature via the JWKS, and introspection.
async fn check_jwt(server: &TestServer, tenant: &str, alg: &str, id: &str, secret: &str) -> (String, Value) {
    let reply = server.token_basic(tenant, id, secret, &[("grant_type", "client_credentials")]).await;
    reply.expect_status(200, "token");
    assert_eq!(reply.header("cache-control"), Some("no-store"), "token responses are not cached");
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    assert!(reply.header("content-type").unwrap().starts_with("application/json"));
    let body = &reply.json;
    assert_eq!(body["token_type"], "Bearer");
    let ttl = server.get_settings(tenant).await["access_token_ttl_secs"].as_i64().unwrap();
    assert_eq!(body["expires_in"].as_i64(), Some(ttl));
    assert_eq!(body["scope"], "read write");
    let token = body["access_token"].as_str().unwrap().to_owned();

    let header = common::jwt_header(&token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], alg);
    let kid = header["kid"].as_str().expect("kid").to_owned();
    let jwks = server.jwks(tenant).await;
    jwks.expect_status(200, "jwks");
    let jwk = jwks.json["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str());
    let jwk = jwk.unwrap_or_else(|| panic!("kid {kid} not in JWKS {}", jwks.text));
    assert_eq!(jwk["alg"], alg, "the JWK names the algorithm");
    assert_eq!(jwk["use"], "sig");

    let issuer = server.issuer(tenant);
    let claims = verify_jwt(&token, &jwks.json, alg, &issuer);
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["aud"], issuer.as_str());
    assert_eq!(claims["sub"], id, "the subject of a client credentials token is the client");
    assert_eq!(claims["client_id"], id);
    assert_eq!(claims["scope"], "read write");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()), "jti");
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, ttl, "exp = iat + access_token_ttl_secs");
    let now = common::now_secs();
    assert!((iat - now).abs() <= 300, "iat {iat} is about now {now}");

    let introspection = server.introspect(tenant, id, secret, &token).await;
    introspection.expect_status(200, "introspect");
    assert_eq!(introspection.json["active"], true, "{}", introspection.text);
    assert_eq!(introspection.json["jti"], claims["jti"]);
    (token, claims)
}

/// A tenant whose access tokens use `alg`, set with `PUT .../settings` (or left at the default
/// when `alg` is ES384), checked end to end.
async fn jwt_with_alg(backend: Backend, alg: &str) {
    let server = TestServer::start(backend).await;
    server.create_tenant("acme", Value::Null).await;
    if alg != "ES384" {
        let settings = server.put_settings("acme", json!({ "access_token_alg": alg })).await;
        assert_eq!(settings["access_token_alg"], alg);
    } else {
        assert_eq!(server.get_settings("acme").await["access_token_alg"], "ES384", "the default");
    }
    let (id, secret) = server.cc_client("acme", "read write").await;
    for key in server.list_keys("acme").await {
        assert_eq!(key["backend"], backend.listing_name(), "keys live in the configured backend: {key}");
    }
    let (_, first) = check_jwt(&server, "acme", alg, &id, &secret).await;
    let (_, second) = check_jwt(&server, "acme", alg, &id, &secret).await;
    assert_ne!(first["jti"], second["jti"], "each token has its own jti");
    assert_eq!(common::jwt_header(&server.cc_token("acme", &id, &secret).await)["alg"], alg);
}

async fn es384_default(backend: Backend) {
    jwt_with_alg(backend, "ES384").await;
}
async fn es256(backend: Backend) {
    jwt_with_alg(backend, "ES256").await;
}
async fn rs256(backend: Backend) {
    jwt_with_alg(backend, "RS256").await;
}
async fn eddsa(backend: Backend) {
    jwt_with_alg(backend, "EdDSA").await;
}
both_backends!(es384_default);
both_backends!(es256);
both_backends!(rs256);
both_backends!(eddsa);

/// Switching a tenant's algorithm back and forth: each token verifies with the algorithm it
/// was signed with, earlier tokens keep verifying, and the JWKS keeps every key.
async fn algorithm_switches(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_tenant("acme", json!({ "access_token_alg": "RS256" })).await;
    let (id, secret) = server.cc_client("acme", "read write").await;
    let mut tokens = Vec::new();
    for alg in ["RS256", "EdDSA", "ES256", "ES384"] {
        server.put_settings("acme", json!({ "access_token_alg": alg })).await;
        let (token, _) = check_jwt(&server, "acme", alg, &id, &secret).await;
        tokens.push((alg, token));
    }
    let jwks = server.jwks("acme").await.json;
    for (alg, token) in &tokens {
        verify_jwt(token, &jwks, alg, &server.issuer("acme"));
        assert!(server.is_active("acme", &id, &secret, token).await, "{alg} token still active");
    }
}
both_backends!(algorithm_switches);

/// `client_secret_basic` and `client_secret_post` each work for a client registered for them,
/// and a client using the other method fails with 401 `invalid_client`.
async fn client_auth_methods(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_tenant("acme", Value::Null).await;
    let (basic_id, basic_secret) = server.cc_client("acme", "read").await;
    let (post_id, post_secret) = server
        .create_client(
            "acme",
            json!({ "grant_types": ["client_credentials"], "scope": "read",
                    "token_endpoint_auth_method": "client_secret_post" }),
        )
        .await;
    let cc = [("grant_type", "client_credentials")];

    let ok = server.token_basic("acme", &basic_id, &basic_secret, &cc).await;
    ok.expect_status(200, "basic client with basic");
    let ok = server.token_post("acme", &post_id, &post_secret, &cc).await;
    ok.expect_status(200, "post client with post");
    let claims = verify_jwt(
        ok.json["access_token"].as_str().unwrap(),
        &server.jwks("acme").await.json,
        "ES384",
        &server.issuer("acme"),
    );
    assert_eq!(claims["client_id"], post_id.as_str());

    server.token_basic("acme", &post_id, &post_secret, &cc).await.expect_oauth_error(
        401,
        "invalid_client",
        "post client using basic",
    );
    server.token_post("acme", &basic_id, &basic_secret, &cc).await.expect_oauth_error(
        401,
        "invalid_client",
        "basic client using post",
    );
    // A confidential client that leaves out its secret authenticates as nobody.
    server
        .post_form(
            "acme",
            "token",
            None,
            &common::form_body(&[("grant_type", "client_credentials"), ("client_id", &post_id)]),
        )
        .await
        .expect_oauth_error(401, "invalid_client", "confidential client without its secret");
    // Basic with the client_id repeated (identically) in the body is fine (RFC 6749 2.3.1).
    let body = common::form_body(&[("grant_type", "client_credentials"), ("client_id", &basic_id)]);
    server
        .post_form("acme", "token", Some(&common::basic_auth(&basic_id, &basic_secret)), &body)
        .await
        .expect_status(200, "basic with the same client_id in the body");
    server.assert_alive();
}
both_backends!(client_auth_methods);

/// Scope: a requested subset is granted as asked, a value outside the registered scope is
/// `invalid_scope`, no request gets the whole registered scope, duplicates collapse.
async fn scope_selection(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_tenant("acme", Value::Null).await;
    let (id, secret) = server.cc_client("acme", "read write api:admin").await;
    let jwks = server.jwks("acme").await.json;
    let issuer = server.issuer("acme");

    for (requested, granted) in [
        (Some("read"), "read"),
        (Some("write read"), "write read"),
        (Some("api:admin"), "api:admin"),
        (Some("read read"), "read"),
        (None, "read write api:admin"),
    ] {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(s) = requested {
            form.push(("scope", s));
        }
        let reply = server.token_basic("acme", &id, &secret, &form).await;
        reply.expect_status(200, &format!("scope {requested:?}"));
        assert_eq!(reply.json["scope"], granted, "response scope for {requested:?}");
        let claims = verify_jwt(reply.json["access_token"].as_str().unwrap(), &jwks, "ES384", &issuer);
        assert_eq!(claims["scope"], granted, "claim scope for {requested:?}");
        let token = reply.json["access_token"].as_str().unwrap();
        assert_eq!(server.introspect("acme", &id, &secret, token).await.json["scope"], granted);
    }
    for outside in ["delete", "read delete", "READ", "api"] {
        server
            .token_basic("acme", &id, &secret, &[("grant_type", "client_credentials"), ("scope", outside)])
            .await
            .expect_oauth_error(400, "invalid_scope", &format!("scope {outside:?}"));
    }

    // A client registered without any scope gets a token without one.
    let (bare_id, bare_secret) =
        server.create_client("acme", json!({ "grant_types": ["client_credentials"] })).await;
    let reply =
        server.token_basic("acme", &bare_id, &bare_secret, &[("grant_type", "client_credentials")]).await;
    reply.expect_status(200, "client without scope");
    assert!(reply.json.get("scope").is_none_or(|s| s == ""), "no scope granted: {}", reply.text);
    let claims = verify_jwt(reply.json["access_token"].as_str().unwrap(), &jwks, "ES384", &issuer);
    assert!(claims.get("scope").is_none_or(|s| s == ""), "no scope claim: {claims}");
    server
        .token_basic(
            "acme",
            &bare_id,
            &bare_secret,
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
        .await
        .expect_oauth_error(400, "invalid_scope", "scope for a client registered without one");
}
both_backends!(scope_selection);

/// A client registered for opaque tokens gets 43-character random identifiers, not JWTs, that
/// introspect as active with the RFC 7662 fields.
async fn opaque_tokens(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_tenant("acme", Value::Null).await;
    let (id, secret) = server.opaque_client("acme", "read write").await;
    let mut seen = HashSet::new();
    for _ in 0..3 {
        let reply = server.token_basic("acme", &id, &secret, &[("grant_type", "client_credentials")]).await;
        reply.expect_status(200, "opaque token");
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert_eq!(reply.json["token_type"], "Bearer");
        assert_eq!(reply.json["expires_in"], 3600);
        assert_eq!(reply.json["scope"], "read write");
        let token = reply.json["access_token"].as_str().unwrap().to_owned();
        assert_eq!(token.len(), 43, "256 bits in base64url: {token}");
        assert!(!token.contains('.'), "not a JWT: {token}");
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
        assert!(seen.insert(token.clone()), "tokens are unique");

        let intro = server.introspect("acme", &id, &secret, &token).await;
        intro.expect_status(200, "introspect opaque");
        assert_eq!(intro.json["active"], true, "{}", intro.text);
        assert_eq!(intro.json["client_id"], id.as_str());
        assert_eq!(intro.json["sub"], id.as_str());
        assert_eq!(intro.json["scope"], "read write");
        assert_eq!(intro.json["token_type"], "Bearer");
        assert_eq!(intro.json["iss"], server.issuer("acme").as_str());
        let (iat, exp) = (intro.json["iat"].as_i64().unwrap(), intro.json["exp"].as_i64().unwrap());
        assert_eq!(exp - iat, 3600);
    }
    // A requested subset applies to opaque tokens too.
    let reply = server
        .token_basic("acme", &id, &secret, &[("grant_type", "client_credentials"), ("scope", "write")])
        .await;
    reply.expect_status(200, "opaque token with scope");
    let token = reply.json["access_token"].as_str().unwrap();
    assert_eq!(server.introspect("acme", &id, &secret, token).await.json["scope"], "write");
}
both_backends!(opaque_tokens);

/// The lifetime set in the tenant settings is the one tokens get.
#[tokio::test]
async fn ttl_from_settings() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", json!({ "access_token_ttl_secs": 120 })).await;
    let (id, secret) = server.cc_client("acme", "read write").await;
    let (_, claims) = check_jwt(&server, "acme", "ES384", &id, &secret).await;
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 120);
    server.put_settings("acme", json!({ "access_token_ttl_secs": 7200 })).await;
    let (_, claims) = check_jwt(&server, "acme", "ES384", &id, &secret).await;
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 7200);
}

/// The `default` tenant made on the first start issues tokens like any other.
#[tokio::test]
async fn default_tenant_works() {
    let server = TestServer::start(Backend::Software).await;
    let (id, secret) = server.cc_client("default", "read write").await;
    check_jwt(&server, "default", "ES384", &id, &secret).await;
}
