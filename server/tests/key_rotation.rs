//! Signing-key rotation on the real binary, with software keys and SoftHSM2: after
//! `POST /api/v1/tenants/{t}/keys/rotate` new tokens carry a new kid, the JWKS publishes the old
//! and the new key, tokens signed before and after verify through it (with `jsonwebtoken`), the
//! key listing shows one current and the retired keys with an `expires_at` no earlier than the
//! rotation time plus the access-token lifetime, and no private key material appears anywhere.
//! Concurrent rotations still leave exactly one current key per algorithm.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, TestServer, assert_no_private_material, both_backends, verify_jwt};
use serde_json::{Value, json};

const TTL: i64 = 600;

fn kid_of(token: &str) -> String {
    common::jwt_header(token)["kid"].as_str().unwrap().to_owned()
}

fn with_status<'a>(keys: &'a [Value], status: &str) -> Vec<&'a Value> {
    keys.iter().filter(|k| k["status"] == status).collect()
}

async fn rotation(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_tenant("acme", json!({ "access_token_ttl_secs": TTL })).await;
    let (id, secret) = server.cc_client("acme", "read").await;
    let issuer = server.issuer("acme");

    let first = server.cc_token("acme", &id, &secret).await;
    let kid1 = kid_of(&first);
    let keys = server.list_keys("acme").await;
    assert_eq!(keys.len(), 1, "one key before rotation: {keys:?}");
    assert_eq!(keys[0]["kid"], kid1.as_str());
    assert_eq!(keys[0]["status"], "current");
    assert_eq!(keys[0]["alg"], "ES384");
    assert_eq!(keys[0]["backend"], backend.listing_name());
    assert!(keys[0]["retired_at"].is_null() && keys[0]["expires_at"].is_null(), "{}", keys[0]);

    let rotated_at = common::now_secs();
    let rotated = server.rotate_keys("acme").await;
    assert_no_private_material(&rotated, "the rotate response");

    let second = server.cc_token("acme", &id, &secret).await;
    let kid2 = kid_of(&second);
    assert_ne!(kid1, kid2, "tokens after rotation carry the new kid");

    let jwks = server.jwks("acme").await;
    jwks.expect_status(200, "jwks");
    assert_no_private_material(&jwks.json, "the JWKS");
    let kids = common::kids(&jwks.json);
    assert_eq!(kids.len(), 2, "old and new key published: {kids:?}");
    assert!(kids.contains(&kid1) && kids.contains(&kid2));
    for token in [&first, &second] {
        let claims = verify_jwt(token, &jwks.json, "ES384", &issuer);
        assert_eq!(claims["client_id"], id.as_str());
        assert!(server.is_active("acme", &id, &secret, token).await);
    }

    let keys = server.list_keys("acme").await;
    assert_no_private_material(&Value::Array(keys.clone()), "the key listing");
    let current = with_status(&keys, "current");
    let retired = with_status(&keys, "retired");
    assert_eq!(current.len(), 1, "one current key: {keys:?}");
    assert_eq!(retired.len(), 1, "one retired key: {keys:?}");
    assert_eq!(current[0]["kid"], kid2.as_str());
    assert_eq!(retired[0]["kid"], kid1.as_str());
    let (retired_at, expires_at) =
        (retired[0]["retired_at"].as_i64().unwrap(), retired[0]["expires_at"].as_i64().unwrap());
    assert!(retired_at >= rotated_at && retired_at <= common::now_secs(), "retired_at {retired_at}");
    assert!(
        expires_at >= rotated_at + TTL,
        "the retired key stays published until its tokens expire: expires_at {expires_at} < {rotated_at} + {TTL}"
    );
    assert!(current[0]["expires_at"].is_null(), "the current key does not expire");
    for key in &keys {
        assert_eq!(key["backend"], backend.listing_name());
        let published = jwks.json["keys"].as_array().unwrap().iter().find(|j| j["kid"] == key["kid"]);
        assert_eq!(published, Some(&key["public_jwk"]), "listing and JWKS show the same public key");
        assert_eq!(key["public_jwk"]["kty"], "EC");
        assert_eq!(key["public_jwk"]["crv"], "P-384");
    }

    // A token signed by the retired key can still be revoked.
    server.revoke("acme", &id, &secret, &first).await.expect_status(200, "revoke an old-key token");
    assert!(!server.is_active("acme", &id, &secret, &first).await);

    // A second rotation: three published keys, still one current.
    server.rotate_keys("acme").await;
    let third = server.cc_token("acme", &id, &secret).await;
    let kid3 = kid_of(&third);
    assert!(kid3 != kid1 && kid3 != kid2);
    let keys = server.list_keys("acme").await;
    assert_eq!(with_status(&keys, "current").len(), 1, "{keys:?}");
    assert_eq!(with_status(&keys, "retired").len(), 2, "{keys:?}");
    let jwks = server.jwks("acme").await.json;
    for token in [&first, &second, &third] {
        verify_jwt(token, &jwks, "ES384", &issuer);
    }
    server.assert_alive();
}
both_backends!(rotation);

/// A tenant that switched algorithms has a current key for each; rotation replaces all of them,
/// and tokens of both algorithms keep verifying.
async fn rotation_with_two_algorithms(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_tenant("acme", Value::Null).await;
    let (id, secret) = server.cc_client("acme", "read").await;
    let issuer = server.issuer("acme");
    let es384 = server.cc_token("acme", &id, &secret).await;
    server.put_settings("acme", json!({ "access_token_alg": "RS256" })).await;
    let rs256 = server.cc_token("acme", &id, &secret).await;
    let before: Vec<String> = with_status(&server.list_keys("acme").await, "current")
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();

    let rotated_at = common::now_secs();
    server.rotate_keys("acme").await;
    let keys = server.list_keys("acme").await;
    assert_no_private_material(&Value::Array(keys.clone()), "the key listing");
    for key in with_status(&keys, "current") {
        assert!(
            !before.contains(&key["kid"].as_str().unwrap().to_owned()),
            "still current after rotation: {key}"
        );
    }
    for key in with_status(&keys, "retired") {
        assert!(key["expires_at"].as_i64().unwrap() >= rotated_at + 3600, "{key}");
    }
    let fresh = server.cc_token("acme", &id, &secret).await;
    assert_eq!(common::jwt_header(&fresh)["alg"], "RS256");
    assert!(!before.contains(&kid_of(&fresh)), "a new RS256 key signs");
    let jwks = server.jwks("acme").await.json;
    assert_no_private_material(&jwks, "the JWKS");
    verify_jwt(&es384, &jwks, "ES384", &issuer);
    verify_jwt(&rs256, &jwks, "RS256", &issuer);
    verify_jwt(&fresh, &jwks, "RS256", &issuer);
}
both_backends!(rotation_with_two_algorithms);

/// Rotations racing each other and token requests: afterwards exactly one key is current, and
/// every token issued during the race verifies through the JWKS.
async fn concurrent_rotations(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.create_tenant("acme", Value::Null).await;
    let (id, secret) = server.cc_client("acme", "read").await;
    let rotations = (0..4).map(|_| server.admin(reqwest::Method::POST, "/tenants/acme/keys/rotate", None));
    let tokens =
        (0..8).map(|_| server.token_basic("acme", &id, &secret, &[("grant_type", "client_credentials")]));
    let (rotated, issued) =
        tokio::join!(common::join_all(rotations.collect()), common::join_all(tokens.collect()));
    for reply in rotated {
        reply.expect_status(200, "concurrent rotation");
    }
    let keys = server.list_keys("acme").await;
    assert_eq!(with_status(&keys, "current").len(), 1, "exactly one current key: {keys:?}");
    assert_eq!(keys.len(), 5, "the first key and one per rotation: {keys:?}");
    let jwks = server.jwks("acme").await.json;
    for reply in issued {
        reply.expect_status(200, "token during rotation");
        verify_jwt(reply.json["access_token"].as_str().unwrap(), &jwks, "ES384", &server.issuer("acme"));
    }
    server.assert_alive();
}
both_backends!(concurrent_rotations);
