//! Tenant isolation on the real binary, with software keys and SoftHSM2: nothing of tenant A is
//! visible from tenant B. A's tokens (JWT and opaque) are inactive at B and cannot be revoked
//! there; A's clients cannot authenticate at B even under the same client_id; B's JWKS has none
//! of A's keys. Deleting A makes its endpoints 404, leaves B working, and a tenant created
//! again under A's id inherits nothing (clients, tokens, keys).

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, TestServer, both_backends, verify_jwt};
use reqwest::Method;
use serde_json::{Value, json};

struct Tenant {
    id: String,
    secret: String,
    oid: String,
    osecret: String,
}

/// A tenant with a JWT client named `svc` (the same id in every tenant) and an opaque client.
async fn tenant(server: &TestServer, name: &str) -> Tenant {
    server.create_tenant(name, Value::Null).await;
    let (id, secret) = server
        .create_client(
            name,
            json!({ "client_id": "svc", "grant_types": ["client_credentials"], "scope": "read" }),
        )
        .await;
    let (oid, osecret) = server.opaque_client(name, "read").await;
    Tenant { id, secret, oid, osecret }
}

async fn tenants_are_isolated(backend: Backend) {
    let server = TestServer::start(backend).await;
    let a = tenant(&server, "alpha").await;
    let b = tenant(&server, "beta").await;
    assert_eq!(a.id, b.id, "the same client_id in both tenants");
    assert_ne!(a.secret, b.secret);

    let a_jwt = server.cc_token("alpha", &a.id, &a.secret).await;
    let a_opaque = server.cc_token("alpha", &a.oid, &a.osecret).await;
    let b_jwt = server.cc_token("beta", &b.id, &b.secret).await;

    // A's tokens are unknown at B, though a client with the same id asks.
    assert!(!server.is_active("beta", &b.id, &b.secret, &a_jwt).await, "A's JWT at B");
    assert!(!server.is_active("beta", &b.id, &b.secret, &a_opaque).await, "A's opaque token at B");
    assert!(server.is_active("alpha", &a.id, &a.secret, &a_jwt).await);
    assert!(server.is_active("alpha", &a.id, &a.secret, &a_opaque).await);
    // B cannot revoke them: unknown there, so 200 and no effect.
    server.revoke("beta", &b.id, &b.secret, &a_jwt).await.expect_status(200, "revoke A's JWT at B");
    server
        .revoke("beta", &b.id, &b.secret, &a_opaque)
        .await
        .expect_status(200, "revoke A's opaque token at B");
    assert!(server.is_active("alpha", &a.id, &a.secret, &a_jwt).await, "A's JWT survives B's revocation");
    assert!(server.is_active("alpha", &a.id, &a.secret, &a_opaque).await, "A's opaque token survives");

    // A's credentials do not work at B.
    server
        .token_basic("beta", &a.id, &a.secret, &[("grant_type", "client_credentials")])
        .await
        .expect_oauth_error(401, "invalid_client", "A's svc secret at B");
    server
        .token_basic("beta", &a.oid, &a.osecret, &[("grant_type", "client_credentials")])
        .await
        .expect_oauth_error(401, "invalid_client", "A-only client at B");
    server.introspect("beta", &a.oid, &a.osecret, &b_jwt).await.expect_oauth_error(
        401,
        "invalid_client",
        "A's client introspects at B",
    );

    // Keys: disjoint JWKS; A's token does not verify with B's keys.
    let a_kids = server.jwks_kids("alpha").await;
    let b_kids = server.jwks_kids("beta").await;
    assert!(!a_kids.is_empty() && !b_kids.is_empty());
    assert!(a_kids.iter().all(|k| !b_kids.contains(k)), "A's kids {a_kids:?} in B's JWKS {b_kids:?}");
    let a_kid = common::jwt_header(&a_jwt)["kid"].as_str().unwrap().to_owned();
    assert!(!b_kids.contains(&a_kid));
    verify_jwt(&a_jwt, &server.jwks("alpha").await.json, "ES384", &server.issuer("alpha"));
    // Issuers differ.
    assert_eq!(common::jwt_claims(&a_jwt)["iss"], server.issuer("alpha").as_str());
    assert_eq!(common::jwt_claims(&b_jwt)["iss"], server.issuer("beta").as_str());
    // The admin API lists each tenant's own clients only.
    let clients = server.list_clients("beta").await;
    let ids: Vec<&str> =
        clients["clients"].as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap()).collect();
    assert!(!ids.contains(&a.oid.as_str()), "A's client listed under B: {ids:?}");
    server.assert_alive();
}
both_backends!(tenants_are_isolated);

async fn deleting_a_tenant(backend: Backend) {
    let server = TestServer::start(backend).await;
    let a = tenant(&server, "alpha").await;
    let b = tenant(&server, "beta").await;
    let a_jwt = server.cc_token("alpha", &a.id, &a.secret).await;
    let a_opaque = server.cc_token("alpha", &a.oid, &a.osecret).await;
    let a_kids = server.jwks_kids("alpha").await;
    let b_jwt = server.cc_token("beta", &b.id, &b.secret).await;
    let b_opaque = server.cc_token("beta", &b.oid, &b.osecret).await;
    let b_jwks = server.jwks("beta").await.json;

    let reply = server.admin(Method::DELETE, "/tenants/alpha", None).await;
    reply.expect_status(204, "delete tenant");

    // Every endpoint of A is gone.
    server.admin(Method::GET, "/tenants/alpha", None).await.expect_status(404, "admin GET");
    server.admin(Method::GET, "/tenants/alpha/clients", None).await.expect_status(404, "admin clients");
    server.admin(Method::GET, "/tenants/alpha/keys", None).await.expect_status(404, "admin keys");
    server.jwks("alpha").await.expect_status(404, "jwks");
    server.discovery("alpha").await.expect_status(404, "discovery");
    server
        .token_basic("alpha", &a.id, &a.secret, &[("grant_type", "client_credentials")])
        .await
        .expect_status(404, "token");
    server.introspect("alpha", &a.id, &a.secret, &a_jwt).await.expect_status(404, "introspect");
    server.revoke("alpha", &a.id, &a.secret, &a_jwt).await.expect_status(404, "revoke");
    let listed = server.list_tenants().await;
    assert!(
        listed["tenants"].as_array().unwrap().iter().all(|t| t["id"] != "alpha"),
        "deleted tenant still listed: {listed}"
    );

    // B is untouched.
    assert!(server.is_active("beta", &b.id, &b.secret, &b_jwt).await);
    assert!(server.is_active("beta", &b.oid, &b.osecret, &b_opaque).await);
    assert_eq!(server.jwks("beta").await.json, b_jwks, "B's JWKS unchanged");
    let fresh = server.cc_token("beta", &b.id, &b.secret).await;
    verify_jwt(&fresh, &b_jwks, "ES384", &server.issuer("beta"));

    // A tenant created again under the same id starts empty.
    server.create_tenant("alpha", Value::Null).await;
    let clients = server.list_clients("alpha").await;
    assert_eq!(clients["clients"], json!([]), "clients of the deleted tenant came back");
    server
        .token_basic("alpha", &a.id, &a.secret, &[("grant_type", "client_credentials")])
        .await
        .expect_oauth_error(401, "invalid_client", "old client in the new tenant");
    let new_kids = server.jwks_kids("alpha").await;
    assert!(new_kids.iter().all(|k| !a_kids.contains(k)), "old keys {a_kids:?} back in {new_kids:?}");
    let (nid, nsecret) = server.cc_client("alpha", "read").await;
    assert!(!server.is_active("alpha", &nid, &nsecret, &a_jwt).await, "old JWT active in the new tenant");
    assert!(
        !server.is_active("alpha", &nid, &nsecret, &a_opaque).await,
        "old opaque token active in the new tenant"
    );
    server.cc_token("alpha", &nid, &nsecret).await;
    server.assert_alive();
}
both_backends!(deleting_a_tenant);

/// The number of objects in the server's SoftHSM2 token (files `*.object` of the file store).
fn hsm_objects(server: &TestServer) -> usize {
    let mut count = 0;
    let mut dirs = vec![common::path_in(server, "hsm/tokens")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "object") {
                count += 1;
            }
        }
    }
    count
}

/// Deleting a tenant deletes its keys: with an HSM, the key pairs in the token too, so the
/// private keys of a deleted tenant cannot sign anything any more.
#[tokio::test]
async fn deleting_a_tenant_destroys_its_hsm_keys() {
    if common::skip_softhsm("isolation::deleting_a_tenant_destroys_its_hsm_keys") {
        return;
    }
    let server = TestServer::start(Backend::SoftHsm).await;
    let before = hsm_objects(&server);
    server.create_tenant("alpha", Value::Null).await;
    server.put_settings("alpha", json!({ "access_token_alg": "EdDSA" })).await;
    server.rotate_keys("alpha").await;
    assert!(hsm_objects(&server) > before, "the tenant's keys are in the token");
    server.admin(Method::DELETE, "/tenants/alpha", None).await.expect_status(204, "delete tenant");
    assert_eq!(hsm_objects(&server), before, "the deleted tenant's key objects are gone from the token");
}

/// Tenants whose ids are prefixes of each other (`a`, `ab`, `a.b`) share nothing: listing,
/// tokens and deletion of one leave the others alone.
#[tokio::test]
async fn prefix_named_tenants_are_separate() {
    let server = TestServer::start(Backend::Software).await;
    let mut creds = Vec::new();
    for name in ["a", "ab", "a.b"] {
        server.create_tenant(name, Value::Null).await;
        let (id, secret) = server.opaque_client(name, "read").await;
        let token = server.cc_token(name, &id, &secret).await;
        creds.push((name, id, secret, token));
    }
    for (name, id, _, _) in &creds {
        let listed = server.list_clients(name).await;
        let ids: Vec<&str> =
            listed["clients"].as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap()).collect();
        assert_eq!(ids, [id.as_str()], "tenant {name} lists only its own client");
    }
    server.admin(Method::DELETE, "/tenants/a", None).await.expect_status(204, "delete a");
    for (name, id, secret, token) in &creds[1..] {
        assert!(server.is_active(name, id, secret, token).await, "{name}'s token after deleting `a`");
        server.cc_token(name, id, secret).await;
    }
}
