//! Scopes that require a permission (issue 9 item 2), on the real binary: a tenant's
//! `scope_permissions` setting, validated; a client asking for such a scope without holding
//! the permission gets `invalid_scope` (client credentials, the authorization endpoint, a
//! refresh naming it), a scope the server chose for it (the client's registered default, a
//! refresh without `scope`) loses it instead, and holding the permission (directly or through
//! a wildcard) grants it.

mod common;

use common::{Backend, Client, EndUser, Options, TestServer, code_request, jwt_claims, redirect_params};
use reqwest::Method;
use serde_json::{Value, json};

const TENANT: &str = "acme";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PASSWORD: &str = "correct horse battery staple";

async fn server() -> TestServer {
    let server = TestServer::start_with(Options::many_logins(Backend::Software)).await;
    server.create_tenant(TENANT, Value::Null).await;
    let rules = json!({ "scope_permissions": [{ "scope": "docs.write", "permission": "docs:write" }] });
    server.put_settings(TENANT, rules).await;
    server
}

async fn give(server: &TestServer, path: &str, role: &str, permissions: &[&str]) {
    let body = json!({ "name": role, "permissions": permissions });
    let created = server.admin(Method::POST, &format!("/tenants/{TENANT}/roles"), Some(body)).await;
    assert!(created.status == 201 || created.status == 409, "role {role}: {}", created.text);
    let assign = json!({ "role": role });
    server
        .admin(Method::POST, &format!("/tenants/{TENANT}/{path}/roles"), Some(assign))
        .await
        .expect_status(200, "assign");
}

#[tokio::test]
async fn the_setting_is_validated() {
    let server = server().await;
    assert_eq!(
        server.get_settings(TENANT).await["scope_permissions"],
        json!([{ "scope": "docs.write", "permission": "docs:write" }])
    );
    for bad in [
        json!([{ "scope": "two words", "permission": "p" }]),
        json!([{ "scope": "s", "permission": "has space" }]),
        json!([{ "scope": "s", "permission": "p" }, { "scope": "s", "permission": "q" }]),
        json!([{ "scope": "s" }]),
        json!({ "s": "p" }),
    ] {
        let reply = server
            .admin(
                Method::PUT,
                &format!("/tenants/{TENANT}/settings"),
                Some(json!({ "scope_permissions": bad })),
            )
            .await;
        reply.expect_status(400, &format!("{bad}"));
    }
}

#[tokio::test]
async fn client_credentials_need_the_permission_for_the_scope() {
    let server = server().await;
    let (id, secret) = server.cc_client(TENANT, "read docs.write").await;
    let asked = [("grant_type", "client_credentials"), ("scope", "read docs.write")];
    let refused = server.token_basic(TENANT, &id, &secret, &asked).await;
    refused.expect_status(400, "the scope needs a permission the client lacks");
    assert_eq!(refused.error(), Some("invalid_scope"));
    // Its default scope is granted without it.
    let default = server.token_basic(TENANT, &id, &secret, &[("grant_type", "client_credentials")]).await;
    default.expect_status(200, "the default scope");
    assert_eq!(default.json["scope"], "read");
    // Holding it, through a wildcard too.
    give(&server, &format!("clients/{id}"), "docs", &["docs:*"]).await;
    let granted = server.token_basic(TENANT, &id, &secret, &asked).await;
    granted.expect_status(200, "held through docs:*");
    assert_eq!(granted.json["scope"], "read docs.write");
    assert_eq!(jwt_claims(granted.json["access_token"].as_str().expect("token"))["scope"], "read docs.write");
}

#[tokio::test]
async fn an_end_user_needs_the_permission_at_authorize_and_at_refresh() {
    let server = server().await;
    let client = Client::register_first_party(
        &server,
        TENANT,
        REDIRECT,
        "openid offline_access docs.write",
        Value::Null,
    )
    .await;
    let user = server.create_user(TENANT, json!({"username": "alice", "password": PASSWORD})).await;
    let user_id = user["id"].as_str().expect("id").to_owned();

    // Without the permission: the authorization response is invalid_scope.
    let mut browser = EndUser::new(&server, TENANT);
    let request = code_request(&client.id, REDIRECT, &[("scope", "openid offline_access docs.write")]);
    let reply = browser.sign_in(&request, "alice", PASSWORD).await;
    let params = redirect_params(&reply, REDIRECT, "an error for the client");
    assert_eq!(params.get("error").map(String::as_str), Some("invalid_scope"), "{params:?}");

    // With it: granted; then, taken away, a refresh without `scope` loses it and one naming it
    // is refused.
    give(&server, &format!("users/{user_id}"), "writer", &["docs:write"]).await;
    let tokens = browser.tokens(&client, "openid offline_access docs.write", "alice", PASSWORD).await;
    assert_eq!(tokens["scope"], "openid offline_access docs.write");
    let path = format!("/tenants/{TENANT}/users/{user_id}/roles/writer");
    server.admin(Method::DELETE, &path, None).await.expect_status(204, "unassign");
    let refresh = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    let named = server.refresh(&client, &refresh, Some("openid docs.write")).await;
    named.expect_status(400, "a refresh naming the scope");
    assert_eq!(named.error(), Some("invalid_scope"));
    // The refused refresh spent nothing: the same token still refreshes, without the scope.
    let narrowed = server.refresh(&client, &refresh, None).await;
    narrowed.expect_status(200, "a refresh without scope");
    assert_eq!(narrowed.json["scope"], "openid offline_access");
}
