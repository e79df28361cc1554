//! API keys on the real binary (issue 9 item 4), their whole life: created with a scope, an
//! expiry and roles (the key shown once), listed without it, active at introspection with its
//! scope, roles and permissions, a bearer credential of the admin API when its permissions
//! allow, rotated with and without a grace, revoked through the API and the operator's tool,
//! and its last use recorded without a write per use (and on shutdown).

mod common;

use common::{Backend, Options, TestServer, basic_auth, form_body, now_secs};
use reqwest::Method;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};

const TENANT: &str = "acme";

async fn server(extra_args: &[&str]) -> TestServer {
    let mut options = Options::new(Backend::Software);
    options.extra_args = extra_args.iter().map(|a| (*a).to_owned()).collect();
    let server = TestServer::start_with(options).await;
    server.create_tenant(TENANT, Value::Null).await;
    server
}

async fn create_key(server: &TestServer, body: Value) -> Value {
    let reply = server.admin(Method::POST, &format!("/tenants/{TENANT}/api-keys"), Some(body)).await;
    reply.expect_status(201, "create an API key");
    reply.json
}

/// What a resource server's `/introspect` says of `token`.
async fn introspect(server: &TestServer, rs: &(String, String), token: &str) -> Value {
    let auth = basic_auth(&rs.0, &rs.1);
    let reply = server.post_form(TENANT, "introspect", Some(&auth), &form_body(&[("token", token)])).await;
    reply.expect_status(200, "introspect");
    reply.json
}

async fn admin_as(server: &TestServer, key: &str, method: Method, path: &str) -> u16 {
    let auth = format!("Bearer {key}");
    server
        .send(method, &format!("/api/v1{path}"), &[(AUTHORIZATION.as_str(), &auth)], None)
        .await
        .status
        .as_u16()
}

#[tokio::test]
async fn an_api_keys_whole_life() {
    let server = server(&["--api-key-last-use-interval-secs", "1"]).await;
    let rs = server.cc_client(TENANT, "read").await;
    let role = json!({"name": "support", "permissions": ["admin:users:read", "tickets:read"]});
    server
        .admin(Method::POST, &format!("/tenants/{TENANT}/roles"), Some(role))
        .await
        .expect_status(201, "role");
    let exp = now_secs() + 86_400;
    let created = create_key(
        &server,
        json!({"name": "ci", "scope": "read write", "expires_at": exp, "roles": ["support"]}),
    )
    .await;
    let key = created["key"].as_str().expect("the key, once").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(key.starts_with("tsk_") && key.contains(&id), "{key}");
    assert_eq!(created["roles"][0]["name"], "support");

    // Listed and read without the key.
    let listed = server.admin(Method::GET, &format!("/tenants/{TENANT}/api-keys"), None).await;
    listed.expect_status(200, "list");
    assert_eq!(listed.json["api_keys"][0]["id"], id.as_str());
    assert!(!listed.text.contains(&key[4 + 22..]), "the secret is never shown again");
    let one = server.admin(Method::GET, &format!("/tenants/{TENANT}/api-keys/{id}"), None).await;
    assert!(one.json.get("key").is_none() && one.json["scope"] == "read write", "{}", one.json);

    // Active at introspection, with what its roles grant.
    let seen = introspect(&server, &rs, &key).await;
    assert_eq!(
        (seen["active"].as_bool(), seen["scope"].as_str(), seen["exp"].as_i64()),
        (Some(true), Some("read write"), Some(exp))
    );
    assert_eq!(seen["permissions"], json!(["admin:users:read", "tickets:read"]));
    assert_eq!(seen["roles"], json!(["support"]));
    // A bearer credential of the admin API, within its permissions.
    assert_eq!(admin_as(&server, &key, Method::GET, "/tenants/acme/users").await, 200);
    assert_eq!(admin_as(&server, &key, Method::GET, "/tenants/acme/clients").await, 403);
    assert_eq!(admin_as(&server, &key, Method::GET, "/tenants/acme/api-keys").await, 403);

    // Its last use shows up without any request waiting for it.
    let mut last_used = Value::Null;
    for _ in 0..100 {
        last_used = server.admin(Method::GET, &format!("/tenants/{TENANT}/api-keys/{id}"), None).await.json["last_used_at"].clone();
        if !last_used.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        last_used.as_i64().is_some_and(|t| t >= created["created_at"].as_i64().unwrap_or(i64::MAX)),
        "{last_used}"
    );

    // Rotated with a grace: both work. Rotated again without: only the newest.
    let path = format!("/tenants/{TENANT}/api-keys/{id}/rotate");
    let first = server.admin(Method::POST, &path, Some(json!({"grace_secs": 3600}))).await;
    first.expect_status(200, "rotate with a grace");
    let second_key = first.json["key"].as_str().expect("new key").to_owned();
    assert_ne!(second_key, key);
    assert_eq!(introspect(&server, &rs, &key).await["active"], true, "the old key within its grace");
    assert_eq!(introspect(&server, &rs, &second_key).await["active"], true, "the new key");
    let again = server.admin(Method::POST, &path, None).await;
    again.expect_status(200, "rotate without a body: no grace");
    let third_key = again.json["key"].as_str().expect("newest key").to_owned();
    assert_eq!(introspect(&server, &rs, &key).await, json!({"active": false}), "the first is gone");
    assert_eq!(introspect(&server, &rs, &second_key).await, json!({"active": false}), "no grace this time");
    assert_eq!(introspect(&server, &rs, &third_key).await["active"], true);

    // Revoked: inactive everywhere at once.
    server
        .admin(Method::DELETE, &format!("/tenants/{TENANT}/api-keys/{id}"), None)
        .await
        .expect_status(204, "revoke");
    assert_eq!(introspect(&server, &rs, &third_key).await, json!({"active": false}));
    assert_eq!(admin_as(&server, &third_key, Method::GET, "/tenants/acme/users").await, 401);
    server
        .admin(Method::DELETE, &format!("/tenants/{TENANT}/api-keys/{id}"), None)
        .await
        .expect_status(404, "gone");
    server.admin(Method::POST, &path, None).await.expect_status(404, "rotating a revoked key");
}

#[tokio::test]
async fn the_operator_revokes_a_key_by_its_value_and_a_client_cannot() {
    let server = server(&[]).await;
    let rs = server.cc_client(TENANT, "read").await;
    let key = create_key(&server, json!({"name": "deploy"})).await["key"].as_str().expect("key").to_owned();
    let auth = basic_auth(&rs.0, &rs.1);
    let by_client = server.post_form(TENANT, "revoke", Some(&auth), &form_body(&[("token", &key)])).await;
    by_client.expect_status(400, "a client may not revoke the tenant's key");
    assert_eq!(introspect(&server, &rs, &key).await["active"], true);
    server.operator_revoke(TENANT, &key).await;
    assert_eq!(introspect(&server, &rs, &key).await, json!({"active": false}));
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_rule_named() {
    let server = server(&[]).await;
    let path = format!("/tenants/{TENANT}/api-keys");
    let past = now_secs() - 10;
    for (body, status, says) in [
        (json!({}), 400, "name"),
        (json!({"name": ""}), 400, "name must be"),
        (json!({"name": "x", "scope": "a\"b"}), 400, "scope"),
        (json!({"name": "x", "expires_at": past}), 400, "expires_at"),
        (json!({"name": "x", "roles": ["nobody"]}), 404, "role not found"),
        (json!({"name": "x", "secret": "mine"}), 400, "unknown field"),
    ] {
        let reply = server.admin(Method::POST, &path, Some(body.clone())).await;
        reply.expect_status(status, &format!("{body}"));
        assert!(reply.text.contains(says), "{body}: {}", reply.text);
    }
    let id = create_key(&server, json!({"name": "x"})).await["id"].as_str().expect("id").to_owned();
    let rotate = server
        .admin(Method::POST, &format!("{path}/{id}/rotate"), Some(json!({"grace_secs": 10_000_000})))
        .await;
    rotate.expect_status(400, "a grace over a week");
    server
        .admin(Method::GET, &format!("{path}/AAAAAAAAAAAAAAAAAAAAAA"), None)
        .await
        .expect_status(404, "unknown key");
    server.admin(Method::GET, "/tenants/nope/api-keys", None).await.expect_status(404, "unknown tenant");
    let anonymous = server.send(Method::GET, &format!("/api/v1{path}"), &[], None).await;
    anonymous.expect_status(401, "no credential");
}

#[tokio::test]
async fn the_last_use_is_written_on_shutdown() {
    let mut server = server(&[]).await;
    let rs = server.cc_client(TENANT, "read").await;
    let created = create_key(&server, json!({"name": "nightly"})).await;
    let (id, key) =
        (created["id"].as_str().expect("id").to_owned(), created["key"].as_str().expect("key").to_owned());
    assert_eq!(introspect(&server, &rs, &key).await["active"], true);
    // The default interval is a minute: nothing is written yet, until the process stops.
    assert!(server.terminate().await.success());
    server.restart().await;
    let after = server.admin(Method::GET, &format!("/tenants/{TENANT}/api-keys/{id}"), None).await;
    assert!(after.json["last_used_at"].is_i64(), "{}", after.json);
}
