//! Token introspection (RFC 7662) and revocation (RFC 7009) on the real binary, with software
//! keys and SoftHSM2: the fields of an active JWT and opaque token; forged and tampered tokens
//! are inactive; revoking an opaque token or a JWT (deny list) makes it inactive while the JWT
//! still verifies cryptographically; revoking unknown tokens answers 200; a client cannot revoke
//! another client's token; public clients cannot introspect; expired tokens become inactive.

#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Backend, TestServer, both_backends, form_body, verify_jwt};
use reqwest::Method;
use serde_json::{Value, json};

/// The RFC 7662 2.2 members of an active token's introspection, checked against the token's
/// claims.
#[track_caller]
fn check_active(intro: &common::Reply, claims: &Value, issuer: &str) {
    intro.expect_status(200, "introspection");
    assert_eq!(intro.header("cache-control"), Some("no-store"), "introspection answers are not cached");
    let j = &intro.json;
    assert_eq!(j["active"], true, "{}", intro.text);
    for field in ["scope", "client_id", "exp", "iat", "sub", "aud", "jti"] {
        assert_eq!(j[field], claims[field], "introspected {field}");
    }
    assert_eq!(j["iss"], issuer);
    assert_eq!(j["token_type"], "Bearer");
}

async fn jwt_introspection(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_tenant("acme", Value::Null).await;
    let (id, secret) = server.cc_client("acme", "read write").await;
    let (other, other_secret) = server.cc_client("acme", "other").await;
    let issuer = server.issuer("acme");
    let token = server.cc_token("acme", &id, &secret).await;
    let claims = verify_jwt(&token, &server.jwks("acme").await.json, "ES384", &issuer);

    check_active(&server.introspect("acme", &id, &secret, &token).await, &claims, &issuer);
    // Any confidential client of the tenant may introspect (a resource server).
    check_active(&server.introspect("acme", &other, &other_secret, &token).await, &claims, &issuer);
    // With a hint, and with client_secret_post credentials of a post client.
    let body = form_body(&[("token", &token), ("token_type_hint", "access_token")]);
    let auth = common::basic_auth(&id, &secret);
    check_active(&server.post_form("acme", "introspect", Some(&auth), &body).await, &claims, &issuer);
    let (post_id, post_secret) = server
        .create_client(
            "acme",
            json!({ "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post" }),
        )
        .await;
    let body = form_body(&[("token", &token), ("client_id", &post_id), ("client_secret", &post_secret)]);
    check_active(&server.post_form("acme", "introspect", None, &body).await, &claims, &issuer);

    // Forgeries: tampered payload, tampered signature, swapped header, unsigned.
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged_claims = claims.clone();
    forged_claims["scope"] = json!("read write admin");
    let forged_payload = URL_SAFE_NO_PAD.encode(forged_claims.to_string());
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[0] ^= 1;
    let flipped_sig = URL_SAFE_NO_PAD.encode(&sig);
    let mut header = common::jwt_header(&token);
    header["alg"] = json!("none");
    let none_header = URL_SAFE_NO_PAD.encode(header.to_string());
    header["alg"] = json!("ES256");
    let es256_header = URL_SAFE_NO_PAD.encode(header.to_string());
    let forgeries = [
        (format!("{}.{forged_payload}.{}", parts[0], parts[2]), "tampered payload"),
        (format!("{}.{}.{flipped_sig}", parts[0], parts[1]), "tampered signature"),
        (format!("{none_header}.{}.", parts[1]), "alg none, no signature"),
        (format!("{none_header}.{}.{}", parts[1], parts[2]), "alg none header"),
        (format!("{es256_header}.{}.{}", parts[1], parts[2]), "alg swapped"),
        (format!("{}.{}", parts[0], parts[1]), "no signature part"),
        (format!("{token}x"), "trailing garbage"),
    ];
    for (forged, what) in &forgeries {
        let intro = server.introspect("acme", &id, &secret, forged).await;
        intro.expect_status(200, what);
        assert_eq!(intro.json, json!({ "active": false }), "{what} must be bare inactive");
    }
    server.assert_alive();
}
both_backends!(jwt_introspection);

async fn opaque_introspection(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_tenant("acme", Value::Null).await;
    let (id, secret) = server.opaque_client("acme", "read write").await;
    let (rs, rs_secret) = server.cc_client("acme", "").await;
    let token = server.cc_token("acme", &id, &secret).await;
    let intro = server.introspect("acme", &rs, &rs_secret, &token).await;
    intro.expect_status(200, "introspect opaque");
    let j = &intro.json;
    assert_eq!(j["active"], true, "{}", intro.text);
    assert_eq!(j["client_id"], id.as_str());
    assert_eq!(j["sub"], id.as_str());
    assert_eq!(j["scope"], "read write");
    assert_eq!(j["token_type"], "Bearer");
    assert_eq!(j["iss"], server.issuer("acme").as_str());
    assert!(j["jti"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(j["exp"].as_i64().unwrap() - j["iat"].as_i64().unwrap(), 3600);
    // A near miss of the token value is unknown.
    let mut near = token.clone().into_bytes();
    near[0] = if near[0] == b'A' { b'B' } else { b'A' };
    let near = String::from_utf8(near).unwrap();
    assert!(!server.is_active("acme", &rs, &rs_secret, &near).await, "a different value is inactive");
}
both_backends!(opaque_introspection);

async fn revocation(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_tenant("acme", Value::Null).await;
    let (id, secret) = server.cc_client("acme", "read write").await;
    let (oid, osecret) = server.opaque_client("acme", "read").await;
    let issuer = server.issuer("acme");

    // Opaque: inactive after revocation; revoking again is still 200.
    let opaque = server.cc_token("acme", &oid, &osecret).await;
    let keep_opaque = server.cc_token("acme", &oid, &osecret).await;
    assert!(server.is_active("acme", &oid, &osecret, &opaque).await);
    let reply = server.revoke("acme", &oid, &osecret, &opaque).await;
    reply.expect_status(200, "revoke opaque");
    assert!(!server.is_active("acme", &oid, &osecret, &opaque).await, "revoked opaque token is inactive");
    assert!(server.is_active("acme", &oid, &osecret, &keep_opaque).await, "other opaque token unaffected");
    server.revoke("acme", &oid, &osecret, &opaque).await.expect_status(200, "revoke opaque twice");

    // JWT: on the deny list, inactive, but its signature still verifies.
    let jwt = server.cc_token("acme", &id, &secret).await;
    let keep_jwt = server.cc_token("acme", &id, &secret).await;
    let body = form_body(&[("token", &jwt), ("token_type_hint", "access_token")]);
    let reply = server.post_form("acme", "revoke", Some(&common::basic_auth(&id, &secret)), &body).await;
    reply.expect_status(200, "revoke JWT");
    assert!(!server.is_active("acme", &id, &secret, &jwt).await, "revoked JWT is inactive");
    assert!(server.is_active("acme", &id, &secret, &keep_jwt).await, "other JWT unaffected");
    verify_jwt(&jwt, &server.jwks("acme").await.json, "ES384", &issuer);
    server.revoke("acme", &id, &secret, &jwt).await.expect_status(200, "revoke JWT twice");
    // A wrong hint is only a hint (RFC 7009 2.1).
    let jwt2 = server.cc_token("acme", &id, &secret).await;
    let body = form_body(&[("token", &jwt2), ("token_type_hint", "refresh_token")]);
    server
        .post_form("acme", "revoke", Some(&common::basic_auth(&id, &secret)), &body)
        .await
        .expect_status(200, "revoke with the refresh_token hint");
    assert!(!server.is_active("acme", &id, &secret, &jwt2).await, "revoked despite the wrong hint");

    // Unknown or garbage tokens: 200 and nothing else happens.
    for garbage in ["unknown", "a.b.c", &"A".repeat(43)] {
        server.revoke("acme", &id, &secret, garbage).await.expect_status(200, "revoke garbage");
    }
    assert!(server.is_active("acme", &id, &secret, &keep_jwt).await);
    assert!(server.is_active("acme", &oid, &osecret, &keep_opaque).await);
}
both_backends!(revocation);

/// RFC 7009 2.1: the server checks the token was issued to the client asking; a client cannot
/// revoke another client's token, which stays active.
async fn revoking_another_clients_token(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_tenant("acme", Value::Null).await;
    let (a, a_secret) = server.cc_client("acme", "read").await;
    let (oa, oa_secret) = server.opaque_client("acme", "read").await;
    let (b, b_secret) = server.cc_client("acme", "read").await;
    let jwt = server.cc_token("acme", &a, &a_secret).await;
    let opaque = server.cc_token("acme", &oa, &oa_secret).await;

    for (token, what) in [(&jwt, "JWT"), (&opaque, "opaque token")] {
        // RFC 7009 2.2.1 leaves the code to RFC 6749 5.2; Tessera answers `invalid_request`
        // (`core::revocation::not_your_token`), the same for every kind of token.
        let reply = server.revoke("acme", &b, &b_secret, token).await;
        reply.expect_oauth_error(400, "invalid_request", &format!("revoke another client's {what}"));
        assert!(server.is_active("acme", &b, &b_secret, token).await, "{what} stays active");
    }
    // The owners still can.
    server.revoke("acme", &a, &a_secret, &jwt).await.expect_status(200, "owner revokes JWT");
    server.revoke("acme", &oa, &oa_secret, &opaque).await.expect_status(200, "owner revokes opaque");
    assert!(!server.is_active("acme", &b, &b_secret, &jwt).await);
    assert!(!server.is_active("acme", &b, &b_secret, &opaque).await);
}
both_backends!(revoking_another_clients_token);

/// A public client (no secret) may not introspect.
#[tokio::test]
async fn public_clients_cannot_introspect() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let (id, secret) = server.cc_client("acme", "read").await;
    let token = server.cc_token("acme", &id, &secret).await;
    let (public, public_secret) = server
        .create_client(
            "acme",
            json!({ "grant_types": ["authorization_code"], "token_endpoint_auth_method": "none",
                    "redirect_uris": ["https://app.example/cb"], "response_types": ["code"] }),
        )
        .await;
    assert!(public_secret.is_empty(), "a public client gets no secret");
    let body = form_body(&[("token", &token), ("client_id", &public)]);
    let reply = server.post_form("acme", "introspect", None, &body).await;
    reply.expect_oauth_error(401, "invalid_client", "public client introspects");
    assert!(!reply.text.contains("\"active\""), "no introspection answer leaks: {}", reply.text);
    assert!(server.is_active("acme", &id, &secret, &token).await);
}

/// Tokens stop being active when they expire (polled, with a bound), and revoking an expired
/// token is a no-op that answers 200.
#[tokio::test]
async fn expired_tokens_become_inactive() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", json!({ "access_token_ttl_secs": 1 })).await;
    let (id, secret) = server.cc_client("acme", "read").await;
    let (oid, osecret) = server.opaque_client("acme", "read").await;
    let jwt = server.cc_token("acme", &id, &secret).await;
    let opaque = server.cc_token("acme", &oid, &osecret).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let jwt_active = server.is_active("acme", &id, &secret, &jwt).await;
        let opaque_active = server.is_active("acme", &oid, &osecret, &opaque).await;
        if !jwt_active && !opaque_active {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "1-second tokens still active after 15 s");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    server.revoke("acme", &id, &secret, &jwt).await.expect_status(200, "revoke an expired JWT");
    server.revoke("acme", &oid, &osecret, &opaque).await.expect_status(200, "revoke an expired opaque token");
    server.assert_alive();
}

/// Deleting a client invalidates the tokens issued to it (RFC 7592 2.3), and a client
/// registered again under the same id does not inherit them.
#[tokio::test]
async fn deleting_a_client_invalidates_its_tokens() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let (rs, rs_secret) = server.cc_client("acme", "read").await;
    let jwt_client = json!({"client_id": "doomed", "grant_types": ["client_credentials"], "scope": "read"});
    let (id, secret) = server.create_client("acme", jwt_client.clone()).await;
    let (oid, osecret) = server.opaque_client("acme", "read").await;
    let jwt = server.cc_token("acme", &id, &secret).await;
    let opaque = server.cc_token("acme", &oid, &osecret).await;
    assert!(server.is_active("acme", &rs, &rs_secret, &jwt).await);
    assert!(server.is_active("acme", &rs, &rs_secret, &opaque).await);

    for client in [&id, &oid] {
        server
            .admin(Method::DELETE, &format!("/tenants/acme/clients/{client}"), None)
            .await
            .expect_status(204, "delete client");
    }
    assert!(!server.is_active("acme", &rs, &rs_secret, &jwt).await, "JWT of a deleted client");
    assert!(!server.is_active("acme", &rs, &rs_secret, &opaque).await, "opaque token of a deleted client");

    // Registered again under the same id, a second later: the old token stays dead.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    server.create_client("acme", jwt_client).await;
    assert!(!server.is_active("acme", &rs, &rs_secret, &jwt).await, "a new client does not inherit");
}
