//! Durability on the real binary, with software keys and SoftHSM2: whatever a response
//! acknowledged survives `kill -9` right after it arrives. Each phase ends with one kind of
//! write as the very last request, the server is killed with SIGKILL (no shutdown, no flush),
//! restarted on the same data dir and port, and everything acknowledged so far is checked:
//! clients authenticate, revoked tokens stay inactive, unrevoked opaque tokens stay active,
//! settings, keys and deletions persist, tokens signed before the crash still verify, new tokens
//! are signed with the same current key (the HSM's keys survive too), and the admin key works.

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{AdminKey, Backend, Options, TestServer, both_backends, verify_jwt};
use reqwest::Method;
use serde_json::{Value, json};

struct Cred {
    id: String,
    secret: String,
}

async fn survives_kill9(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let issuer = server.issuer("acme");

    // Phase 1: tenant, settings, clients and tokens; the last request revokes an opaque token.
    server.create_tenant("acme", json!({ "access_token_ttl_secs": 900 })).await;
    server.put_settings("acme", json!({ "access_token_alg": "ES256", "access_token_ttl_secs": 1800 })).await;
    let (id, secret) = server.cc_client("acme", "read write").await;
    let jwt_client = Cred { id, secret };
    let (id, secret) = server.opaque_client("acme", "read").await;
    let opaque_client = Cred { id, secret };
    let kept_jwt = server.cc_token("acme", &jwt_client.id, &jwt_client.secret).await;
    let revoked_jwt = server.cc_token("acme", &jwt_client.id, &jwt_client.secret).await;
    let kept_opaque = server.cc_token("acme", &opaque_client.id, &opaque_client.secret).await;
    let revoked_opaque = server.cc_token("acme", &opaque_client.id, &opaque_client.secret).await;
    let jwks_before = server.jwks("acme").await.json;
    let keys_before = server.list_keys("acme").await;
    server
        .revoke("acme", &opaque_client.id, &opaque_client.secret, &revoked_opaque)
        .await
        .expect_status(200, "revoke");
    server.kill9();
    server.restart().await;

    let check_phase1 = async |server: &TestServer| {
        assert_eq!(server.get_settings("acme").await["access_token_ttl_secs"], 1800, "settings survive");
        assert_eq!(server.get_settings("acme").await["access_token_alg"], "ES256", "settings survive");
        assert!(!server.is_active("acme", &jwt_client.id, &jwt_client.secret, &revoked_opaque).await);
        assert!(server.is_active("acme", &jwt_client.id, &jwt_client.secret, &kept_opaque).await);
        assert!(server.is_active("acme", &jwt_client.id, &jwt_client.secret, &kept_jwt).await);
        let jwks = server.jwks("acme").await.json;
        assert_eq!(common::kids(&jwks), common::kids(&jwks_before), "the same keys after the crash");
        verify_jwt(&kept_jwt, &jwks, "ES256", &issuer);
        let fresh = server.cc_token("acme", &jwt_client.id, &jwt_client.secret).await;
        assert_eq!(
            common::jwt_header(&fresh)["kid"],
            common::jwt_header(&kept_jwt)["kid"],
            "new tokens are signed with the same current key"
        );
        verify_jwt(&fresh, &jwks, "ES256", &issuer);
        let opaque = server.cc_token("acme", &opaque_client.id, &opaque_client.secret).await;
        assert!(server.is_active("acme", &opaque_client.id, &opaque_client.secret, &opaque).await);
    };
    check_phase1(&server).await;
    assert_eq!(server.list_keys("acme").await, keys_before, "the key listing survives");

    // Phase 2: the last request registers a client.
    let (id, secret) = server.cc_client("acme", "read").await;
    let late = Cred { id, secret };
    server.kill9();
    server.restart().await;
    let token = server.cc_token("acme", &late.id, &late.secret).await;
    verify_jwt(&token, &server.jwks("acme").await.json, "ES256", &issuer);

    // Phase 3: the last request revokes a JWT (deny list).
    server
        .revoke("acme", &jwt_client.id, &jwt_client.secret, &revoked_jwt)
        .await
        .expect_status(200, "revoke JWT");
    server.kill9();
    server.restart().await;
    assert!(!server.is_active("acme", &late.id, &late.secret, &revoked_jwt).await, "revoked JWT after crash");
    verify_jwt(&revoked_jwt, &server.jwks("acme").await.json, "ES256", &issuer);

    // Phase 4: the last request issues an opaque token.
    let issued = server.cc_token("acme", &opaque_client.id, &opaque_client.secret).await;
    server.kill9();
    server.restart().await;
    assert!(
        server.is_active("acme", &late.id, &late.secret, &issued).await,
        "opaque token issued before the crash"
    );

    // Phase 5: the last request rotates the keys.
    let rotated = server.rotate_keys("acme").await;
    let after_rotation = server.jwks_kids("acme").await;
    server.kill9();
    server.restart().await;
    assert_eq!(server.jwks_kids("acme").await, after_rotation, "rotation survives: {rotated}");
    let fresh = server.cc_token("acme", &jwt_client.id, &jwt_client.secret).await;
    let current: Vec<Value> =
        server.list_keys("acme").await.into_iter().filter(|k| k["status"] == "current").collect();
    assert!(
        current.iter().any(|k| k["kid"] == common::jwt_header(&fresh)["kid"]),
        "tokens after the crash are signed with the rotated key: {current:?}"
    );
    let jwks = server.jwks("acme").await.json;
    verify_jwt(&fresh, &jwks, "ES256", &issuer);
    verify_jwt(&kept_jwt, &jwks, "ES256", &issuer);

    // Phase 6: the last requests delete a client and a tenant.
    server.create_tenant("doomed", Value::Null).await;
    server
        .admin(Method::DELETE, &format!("/tenants/acme/clients/{}", late.id), None)
        .await
        .expect_status(204, "delete client");
    server.admin(Method::DELETE, "/tenants/doomed", None).await.expect_status(204, "delete tenant");
    server.kill9();
    server.restart().await;
    server
        .token_basic("acme", &late.id, &late.secret, &[("grant_type", "client_credentials")])
        .await
        .expect_oauth_error(401, "invalid_client", "deleted client after the crash");
    server
        .admin(Method::GET, "/tenants/doomed", None)
        .await
        .expect_status(404, "deleted tenant after the crash");
    // Everything from phase 1 still holds after five crashes.
    assert!(!server.is_active("acme", &jwt_client.id, &jwt_client.secret, &revoked_opaque).await);
    assert!(!server.is_active("acme", &jwt_client.id, &jwt_client.secret, &revoked_jwt).await);
    assert!(server.is_active("acme", &jwt_client.id, &jwt_client.secret, &kept_opaque).await);
    assert!(server.is_active("acme", &jwt_client.id, &jwt_client.secret, &kept_jwt).await);
    server.assert_alive();
}
both_backends!(survives_kill9);

/// A generated admin key is saved with mode 0600 and never printed (the file is named), and
/// still works after a crash;
/// a deleted `default` tenant stays deleted across restarts.
#[tokio::test]
async fn generated_admin_key_and_default_tenant_persist() {
    let mut options = Options::new(Backend::Software);
    options.admin_key = AdminKey::Generated;
    let mut server = TestServer::start_with(options).await;
    assert!(server.admin_key.len() >= 32, "a strong generated key: {:?}", server.admin_key);
    let path = server.data_dir().join("admin-key");
    let saved = std::fs::read_to_string(&path).expect("the admin key file");
    assert_eq!(saved.trim(), server.admin_key);
    let line = server.admin_key_line.clone().expect("a line about the generated key");
    assert!(line.contains(&path.display().to_string()), "names the file: {line}");
    let printed = server.stdout.lock().unwrap().clone() + &server.stderr();
    assert!(!printed.contains(&server.admin_key), "the key is never printed or logged: {printed}");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "admin-key file mode");
    server.list_tenants().await;
    server.admin(Method::DELETE, "/tenants/default", None).await.expect_status(204, "delete default");

    server.kill9();
    server.restart().await;
    let stdout = server.stdout.lock().unwrap().clone();
    assert!(!stdout.contains(&server.admin_key), "nor printed on a later start: {stdout}");
    let tenants = server.list_tenants().await;
    assert_eq!(tenants["tenants"], json!([]), "default stays deleted");
    let wrong =
        server.send(Method::GET, "/api/v1/tenants", &[("authorization", "Bearer not-the-key")], None).await;
    wrong.expect_status(401, "a wrong key after restart");
    server.assert_alive();
}

/// SIGTERM stops the server cleanly (exit status 0, even with an idle keep-alive connection
/// open), and everything is there after a restart.
#[tokio::test]
async fn sigterm_shuts_down_cleanly() {
    let mut server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let (id, secret) = server.opaque_client("acme", "read").await;
    let token = server.cc_token("acme", &id, &secret).await;
    // The client keeps its connection open in its pool.
    let status = server.terminate().await;
    assert!(status.success(), "exit status after SIGTERM: {status:?}; stderr:\n{}", server.stderr());
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
    server.restart().await;
    assert!(server.is_active("acme", &id, &secret, &token).await);
    server.assert_alive();
}
