//! The admin API with a tenant's own access tokens instead of the bootstrap key (issue 9 item
//! 3): a token whose `permissions` hold `admin:{area}:{read|write}` (or `admin:*`) may use its
//! tenant's routes of that area and nothing else; 403 for a missing permission, for another
//! tenant, and for what only the bootstrap key may do; 401 for anything that is not a live
//! access token of the tenant (a refresh token, a revoked or forged token).

mod common;

use common::{Backend, Client, EndUser, Options, TestServer, jwt_claims};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};

const TENANT: &str = "acme";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PASSWORD: &str = "correct horse battery staple";

/// An admin request with `token` as the bearer credential.
async fn call(
    server: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> common::Reply {
    let auth = format!("Bearer {token}");
    let mut headers = vec![(AUTHORIZATION.as_str(), auth.as_str())];
    if body.is_some() {
        headers.push((CONTENT_TYPE.as_str(), "application/json"));
    }
    let body = body.map(|b| serde_json::to_vec(&b).expect("json"));
    server.send(method, &format!("/api/v1{path}"), &headers, body).await
}

async fn server() -> TestServer {
    let server = TestServer::start_with(Options::many_logins(Backend::Software)).await;
    server.create_tenant(TENANT, Value::Null).await;
    server.create_tenant("globex", Value::Null).await;
    server
}

#[tokio::test]
async fn a_token_may_do_what_its_permissions_name_and_nothing_more() {
    let server = server().await;
    let reader = server.admin_token(TENANT, &["admin:users:read"], false).await;
    assert_eq!(strings(&jwt_claims(&reader)["permissions"]), ["admin:users:read"]);
    call(&server, &reader, Method::GET, "/tenants/acme/users", None).await.expect_status(200, "read users");
    let create = json!({"username": "alice", "password": PASSWORD});
    let refused = call(&server, &reader, Method::POST, "/tenants/acme/users", Some(create.clone())).await;
    refused.expect_status(403, "write users");
    assert!(refused.text.contains("admin:users:write"), "{}", refused.text);
    for path in
        ["/tenants/acme/clients", "/tenants/acme/roles", "/tenants/acme/settings", "/tenants/acme/keys"]
    {
        call(&server, &reader, Method::GET, path, None).await.expect_status(403, path);
    }

    // A writer may change users and read them; roles stay out of its reach.
    let writer = server.admin_token(TENANT, &["admin:users:write"], false).await;
    let made = call(&server, &writer, Method::POST, "/tenants/acme/users", Some(create)).await;
    made.expect_status(201, "create a user");
    let id = made.json["id"].as_str().expect("id");
    call(&server, &writer, Method::GET, &format!("/tenants/acme/users/{id}"), None)
        .await
        .expect_status(200, "read");
    let roles_path = format!("/tenants/acme/users/{id}/roles");
    let assign = call(&server, &writer, Method::POST, &roles_path, Some(json!({"role": "x"}))).await;
    assign.expect_status(403, "giving roles needs admin:roles:write");
    let revoke_path = format!("/tenants/acme/users/{id}/revoke-all");
    let revoke_all = call(&server, &writer, Method::POST, &revoke_path, None).await;
    revoke_all.expect_status(403, "revoke-all needs admin:tokens:write");

    // Everything of the tenant with `admin:*`, but not the tenants themselves.
    let all = server.admin_token(TENANT, &["admin:*"], true).await;
    call(&server, &all, Method::GET, "/tenants/acme/clients", None).await.expect_status(200, "clients");
    call(&server, &all, Method::GET, "/tenants/acme/settings", None).await.expect_status(200, "settings");
    let introspect =
        call(&server, &all, Method::POST, "/tenants/acme/tokens/introspect", Some(json!({"token": reader})));
    assert_eq!(introspect.await.json["active"], true);
    call(&server, &all, Method::DELETE, "/tenants/acme", None)
        .await
        .expect_status(403, "deleting the tenant");
    call(&server, &all, Method::GET, "/tenants", None).await.expect_status(401, "listing tenants");
    let create_tenant = call(&server, &all, Method::POST, "/tenants", Some(json!({"id": "new"}))).await;
    create_tenant.expect_status(401, "creating a tenant");
    server.admin(Method::GET, "/tenants/acme", None).await.expect_status(200, "the tenant is still there");
}

#[tokio::test]
async fn a_token_administers_its_own_tenant_only() {
    let server = server().await;
    let acme = server.admin_token(TENANT, &["admin:*"], false).await;
    let reply = call(&server, &acme, Method::GET, "/tenants/globex/users", None).await;
    reply.expect_status(403, "another tenant");
    assert!(reply.text.contains("tenant acme only"), "{}", reply.text);
    call(&server, &acme, Method::GET, "/tenants/globex/roles", None).await.expect_status(403, "roles");
    call(&server, &acme, Method::GET, "/tenants/nope/users", None).await.expect_status(403, "no such tenant");
    // An opaque token of acme is simply unknown in globex.
    let opaque = server.admin_token(TENANT, &["admin:*"], true).await;
    call(&server, &opaque, Method::GET, "/tenants/globex/users", None)
        .await
        .expect_status(401, "opaque elsewhere");

    // A forged JWT naming acme's issuer is no token of acme: 401, not 403.
    let mut parts: Vec<String> = acme.split('.').map(str::to_owned).collect();
    parts[2] = parts[2].chars().rev().collect();
    let forged = parts.join(".");
    call(&server, &forged, Method::GET, "/tenants/globex/users", None).await.expect_status(401, "forged");
    call(&server, &forged, Method::GET, "/tenants/acme/users", None)
        .await
        .expect_status(401, "forged at home");
}

#[tokio::test]
async fn only_live_access_tokens_are_credentials() {
    let server = server().await;
    for garbage in ["", "nonsense", "a.b.c"] {
        let reply = call(&server, garbage, Method::GET, "/tenants/acme/users", None).await;
        reply.expect_status(401, &format!("{garbage:?}"));
        assert!(reply.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")), "{garbage:?}");
    }
    // A revoked token stops working at once.
    let token = server.admin_token(TENANT, &["admin:users:read"], false).await;
    call(&server, &token, Method::GET, "/tenants/acme/users", None).await.expect_status(200, "live");
    server.operator_revoke(TENANT, &token).await;
    call(&server, &token, Method::GET, "/tenants/acme/users", None).await.expect_status(401, "revoked");

    // An end-user's token carries their roles' permissions; their refresh token is no bearer.
    let role = json!({"name": "support", "permissions": ["admin:users:read"]});
    server.admin(Method::POST, "/tenants/acme/roles", Some(role)).await.expect_status(201, "role");
    let user = server.create_user(TENANT, json!({"username": "sam", "password": PASSWORD})).await;
    let path = format!("/tenants/acme/users/{}/roles", user["id"].as_str().expect("id"));
    server.admin(Method::POST, &path, Some(json!({"role": "support"}))).await.expect_status(200, "assign");
    let client =
        Client::register_first_party(&server, TENANT, REDIRECT, "openid offline_access", Value::Null).await;
    let tokens =
        EndUser::new(&server, TENANT).tokens(&client, "openid offline_access", "sam", PASSWORD).await;
    let access = tokens["access_token"].as_str().expect("access");
    call(&server, access, Method::GET, "/tenants/acme/users", None)
        .await
        .expect_status(200, "a user's token");
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    call(&server, refresh, Method::GET, "/tenants/acme/users", None)
        .await
        .expect_status(401, "a refresh token");
    let id_token = tokens["id_token"].as_str().expect("id token");
    call(&server, id_token, Method::GET, "/tenants/acme/users", None).await.expect_status(401, "an ID token");
    // The bootstrap key is unaffected by all this.
    server.admin(Method::GET, "/tenants/acme/users", None).await.expect_status(200, "admin key");
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}
