//! What the direct authorisation API leaves in a shared PostgreSQL store, read from the
//! database itself: a malformed request leaves no row behind (no session, token or refresh
//! family), and the tenant's shared key for encrypted access tokens is not in the database in
//! any readable form.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Cluster, Reply, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

const TENANT: &str = "acme";

/// The tables a direct authorisation writes to.
const WRITTEN: [&str; 4] = ["sessions", "opaque_tokens", "refresh_tokens", "refresh_families"];

async fn call(node: &TestServer, token: &str, body: Vec<u8>) -> Reply {
    let auth = format!("Bearer {token}");
    let headers =
        [("content-type", "application/json"), ("tenant-id", TENANT), ("authorization", auth.as_str())];
    node.send(Method::POST, "/direct-authz/rest/v2", &headers, Some(body)).await
}

fn counts(cluster: &Cluster) -> Vec<(&'static str, usize)> {
    WRITTEN.iter().map(|table| (*table, cluster.db.records(table).len())).collect()
}

#[tokio::test]
async fn malformed_requests_store_nothing_and_the_shared_key_is_sealed() {
    let cluster = Cluster::start(1).await;
    let node = cluster.node(0);
    node.create_tenant(TENANT, Value::Null).await;
    let alice = json!({ "username": "alice", "password": "correct horse battery" });
    let alice = node.create_user(TENANT, alice).await["id"].as_str().expect("id").to_owned();
    let (app, _) = node
        .create_client(
            TENANT,
            json!({ "client_name": "app", "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": ["https://app.example/cb"], "scope": "openid read", "first_party": true }),
        )
        .await;
    let issued = node.admin(Method::POST, &format!("/tenants/{TENANT}/direct-authz/token"), None).await;
    issued.expect_status(201, "the bearer token");
    let token = issued.json["token"].as_str().expect("token").to_owned();

    let before = counts(&cluster);
    // Each would write a session, an identifier token and a refresh family if it were valid.
    let valid = json!({ "sub_session": { "sub": alice }, "client_id": app, "scope": ["openid", "read"],
        "long_lived": true, "access_token": { "encoding": "IDENTIFIER" } });
    let with = |member: &str, value: Value| {
        let mut body = valid.clone();
        body[member] = value;
        body.to_string().into_bytes()
    };
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"{\"sub_session\": {".to_vec()),
        ("an unknown member", with("nope", json!(1))),
        ("a wrong type", with("scope", json!("openid read"))),
        ("sub beside sub_session", with("sub", json!(alice))),
        ("a negative lifetime", with("access_token", json!({ "lifetime": -5 }))),
        ("an unknown encoding", with("access_token", json!({ "encoding": "OPAQUE" }))),
        ("oversized", with("data", json!({ "pad": "x".repeat(70 * 1024) }))),
        // Valid in form, but the tenant has no key yet: refused before the session is written.
        (
            "encryption without a key",
            with("access_token", json!({ "encoding": "SELF_CONTAINED", "encrypt": true })),
        ),
        ("a refresh token without long_lived", {
            let mut body = valid.clone();
            body["long_lived"] = json!(false);
            body["refresh_token"] = json!({ "issue": true });
            body.to_string().into_bytes()
        }),
    ];
    for (what, body) in malformed {
        let reply = call(node, &token, body).await;
        reply.expect_status(400, what);
        assert_eq!(reply.error(), Some("invalid_request"), "{what}: {}", reply.text);
    }
    // Refused after parsing, at the lookups: still nothing written.
    let unknown_client = with("client_id", json!("nobody"));
    call(node, &token, unknown_client).await.expect_status(460, "an unknown client");
    assert_eq!(counts(&cluster), before, "no row from any refused request");
    // The same request, valid, writes each of them: the count above can see a write.
    let ok = call(node, &token, valid.to_string().into_bytes()).await;
    ok.expect_status(200, "the valid request");
    let after = counts(&cluster);
    for ((table, b), (_, a)) in before.iter().zip(&after) {
        assert!(a > b, "{table}: {b} rows before, {a} after a valid request");
    }

    // The key the operator set is nowhere in the tenant's row, whole or in part.
    let key = [0x5au8; 32];
    let path = format!("/tenants/{TENANT}/direct-authz/encryption-key");
    let body = json!({ "key": URL_SAFE_NO_PAD.encode(key), "alg": "A256GCMKW" });
    node.admin(Method::PUT, &path, Some(body)).await.expect_status(204, "set the key");
    let tenants = cluster.db.records("tenants");
    assert!(!tenants.is_empty());
    for tenant in &tenants {
        assert!(!tenant.windows(8).any(|w| w == &key[..8]), "key bytes in a stored tenant");
    }
    // It still works: a token encrypted under it comes back.
    let enc = json!({ "sub": alice, "client_id": app, "access_token": { "encrypt": true } });
    let reply = call(node, &token, enc.to_string().into_bytes()).await;
    reply.expect_status(200, "an encrypted token");
    let jwe = reply.json["access_token"].as_str().expect("at");
    assert_eq!(jwe.split('.').count(), 5);
}
