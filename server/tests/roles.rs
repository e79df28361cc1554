//! Roles and permissions end to end on the real binary (issue 9 item 2): the `/roles` routes
//! with their errors, assignment to users and clients, the `roles` and `permissions` claims of
//! JWT and opaque access tokens (and introspection), the `roles` claim of ID tokens and
//! userinfo under the `roles` scope, and every change showing in the next token: an
//! unassignment, a permission edit, a role's deletion.

mod common;

use common::{Backend, Client, EndUser, Options, TestServer, jwt_claims};
use reqwest::Method;
use serde_json::{Value, json};

const TENANT: &str = "acme";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PASSWORD: &str = "correct horse battery staple";

async fn server() -> TestServer {
    let server = TestServer::start_with(Options::many_logins(Backend::Software)).await;
    server.create_tenant(TENANT, Value::Null).await;
    server
}

async fn create_role(server: &TestServer, tenant: &str, name: &str, permissions: &[&str]) -> Value {
    let body = json!({ "name": name, "permissions": permissions });
    let reply = server.admin(Method::POST, &format!("/tenants/{tenant}/roles"), Some(body)).await;
    reply.expect_status(201, &format!("create role {name}"));
    reply.json
}

async fn assign(server: &TestServer, path: &str, role: &str) -> Value {
    let reply = server
        .admin(Method::POST, &format!("/tenants/{TENANT}/{path}/roles"), Some(json!({ "role": role })))
        .await;
    reply.expect_status(200, &format!("assign {role} to {path}"));
    reply.json
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

#[tokio::test]
async fn roles_are_created_read_changed_and_deleted_with_their_errors() {
    let server = server().await;
    let created = create_role(&server, TENANT, "editor", &["docs:write", "docs:read", "docs:write"]).await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["name"], "editor");
    assert_eq!(strings(&created["permissions"]), ["docs:read", "docs:write"], "sorted, without repeats");
    create_role(&server, TENANT, "Viewer", &["docs:read"]).await;

    // By id and by name.
    let by_id = server.admin(Method::GET, &format!("/tenants/{TENANT}/roles/{id}"), None).await;
    by_id.expect_status(200, "by id");
    let by_name = server.admin(Method::GET, &format!("/tenants/{TENANT}/roles/editor"), None).await;
    by_name.expect_status(200, "by name");
    assert_eq!(by_id.json, by_name.json);
    let list = server.admin(Method::GET, &format!("/tenants/{TENANT}/roles"), None).await;
    list.expect_status(200, "list");
    let names: Vec<&str> =
        list.json["roles"].as_array().expect("roles").iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, ["editor", "Viewer"], "by name, case ignored");

    // 409: a name taken, whatever its case, on create and on rename.
    let dup = server
        .admin(Method::POST, &format!("/tenants/{TENANT}/roles"), Some(json!({"name": "EDITOR"})))
        .await;
    dup.expect_status(409, "a taken name");
    let rename = server
        .admin(Method::PATCH, &format!("/tenants/{TENANT}/roles/viewer"), Some(json!({"name": "Editor"})))
        .await;
    rename.expect_status(409, "a rename onto a taken name");

    // 400s name the rule.
    for (body, says) in [
        (json!({}), "name is required"),
        (json!({"name": "two words"}), "name must be"),
        (json!({"name": "ok", "permissions": ["has space"]}), "permission"),
        (json!({"name": "ok", "permissions": "docs:read"}), "invalid JSON body"),
        (json!({"name": "ok", "colour": "red"}), "unknown field"),
    ] {
        let reply = server.admin(Method::POST, &format!("/tenants/{TENANT}/roles"), Some(body.clone())).await;
        reply.expect_status(400, &format!("{body}"));
        assert!(reply.text.contains(says), "{body}: {}", reply.text);
    }
    // 401, 404.
    let anonymous = server.send(Method::GET, &format!("/api/v1/tenants/{TENANT}/roles"), &[], None).await;
    anonymous.expect_status(401, "no admin key");
    server.admin(Method::GET, "/tenants/nope/roles", None).await.expect_status(404, "unknown tenant");
    server
        .admin(Method::GET, &format!("/tenants/{TENANT}/roles/nope"), None)
        .await
        .expect_status(404, "unknown role");

    // A change, then the deletion.
    let patched = server
        .admin(
            Method::PATCH,
            &format!("/tenants/{TENANT}/roles/{id}"),
            Some(json!({"name": "author", "description": "writes", "permissions": ["docs:write"]})),
        )
        .await;
    patched.expect_status(200, "patch");
    assert_eq!(
        (patched.json["name"].as_str(), patched.json["description"].as_str()),
        (Some("author"), Some("writes"))
    );
    assert_eq!(strings(&patched.json["permissions"]), ["docs:write"]);
    server
        .admin(Method::DELETE, &format!("/tenants/{TENANT}/roles/author"), None)
        .await
        .expect_status(204, "delete");
    server
        .admin(Method::GET, &format!("/tenants/{TENANT}/roles/{id}"), None)
        .await
        .expect_status(404, "deleted");
    server
        .admin(Method::DELETE, &format!("/tenants/{TENANT}/roles/{id}"), None)
        .await
        .expect_status(404, "deleted twice");
}

#[tokio::test]
async fn a_clients_roles_are_in_its_tokens_and_gone_from_the_next_after_removal() {
    let server = server().await;
    let (jwt_id, jwt_secret) = server.cc_client(TENANT, "read").await;
    let (opaque_id, opaque_secret) = server.opaque_client(TENANT, "read").await;
    // No roles: no claims at all.
    let bare = jwt_claims(&server.cc_token(TENANT, &jwt_id, &jwt_secret).await);
    assert!(bare.get("roles").is_none() && bare.get("permissions").is_none(), "{bare}");

    create_role(&server, TENANT, "billing", &["invoices:read", "invoices:write"]).await;
    create_role(&server, TENANT, "audit", &["invoices:read", "logs:read"]).await;
    for client in [&jwt_id, &opaque_id] {
        assign(&server, &format!("clients/{client}"), "billing").await;
        let held = assign(&server, &format!("clients/{client}"), "audit").await;
        assert_eq!(held["roles"].as_array().map(Vec::len), Some(2), "{held}");
    }
    let claims = jwt_claims(&server.cc_token(TENANT, &jwt_id, &jwt_secret).await);
    assert_eq!(strings(&claims["roles"]), ["audit", "billing"]);
    assert_eq!(strings(&claims["permissions"]), ["invoices:read", "invoices:write", "logs:read"]);
    let opaque = server.cc_token(TENANT, &opaque_id, &opaque_secret).await;
    let seen = server.operator_introspect(TENANT, &opaque).await;
    seen.expect_status(200, "introspect the opaque token");
    assert_eq!(strings(&seen.json["roles"]), ["audit", "billing"], "{}", seen.json);
    assert_eq!(strings(&seen.json["permissions"]), ["invoices:read", "invoices:write", "logs:read"]);

    // Unassigning one role, and editing the other's permissions, show in the next token.
    let path = format!("/tenants/{TENANT}/clients/{jwt_id}/roles/audit");
    server.admin(Method::DELETE, &path, None).await.expect_status(204, "unassign");
    server.admin(Method::DELETE, &path, None).await.expect_status(204, "unassign again");
    let edit = json!({"permissions": ["invoices:read"]});
    server
        .admin(Method::PATCH, &format!("/tenants/{TENANT}/roles/billing"), Some(edit))
        .await
        .expect_status(200, "edit");
    let claims = jwt_claims(&server.cc_token(TENANT, &jwt_id, &jwt_secret).await);
    assert_eq!(
        (strings(&claims["roles"]), strings(&claims["permissions"])),
        (vec!["billing".into()], vec!["invoices:read".into()])
    );
    // The opaque token issued before keeps what it was issued with.
    let again = server.operator_introspect(TENANT, &opaque).await;
    assert_eq!(strings(&again.json["permissions"]), ["invoices:read", "invoices:write", "logs:read"]);

    // Deleting an assigned role works and unassigns it.
    server
        .admin(Method::DELETE, &format!("/tenants/{TENANT}/roles/billing"), None)
        .await
        .expect_status(204, "delete");
    let claims = jwt_claims(&server.cc_token(TENANT, &jwt_id, &jwt_secret).await);
    assert!(claims.get("roles").is_none(), "{claims}");
    let held = server.admin(Method::GET, &format!("/tenants/{TENANT}/clients/{jwt_id}/roles"), None).await;
    held.expect_status(200, "list held");
    assert_eq!(held.json["roles"], json!([]));
}

#[tokio::test]
async fn an_end_users_roles_reach_access_tokens_id_tokens_and_userinfo() {
    let server = server().await;
    let client =
        Client::register_first_party(&server, TENANT, REDIRECT, "openid roles offline_access", Value::Null)
            .await;
    let user = server.create_user(TENANT, json!({"username": "alice", "password": PASSWORD})).await;
    let user_id = user["id"].as_str().expect("id").to_owned();
    let role = create_role(&server, TENANT, "editor", &["docs:write"]).await;
    let held = assign(&server, &format!("users/{user_id}"), role["id"].as_str().expect("id")).await;
    assert_eq!(held["roles"], json!([{ "id": role["id"], "name": "editor" }]), "assigned by id");

    let mut browser = EndUser::new(&server, TENANT);
    let tokens = browser.tokens(&client, "openid roles offline_access", "alice", PASSWORD).await;
    let access = jwt_claims(tokens["access_token"].as_str().expect("access token"));
    assert_eq!(
        (strings(&access["roles"]), strings(&access["permissions"])),
        (vec!["editor".into()], vec!["docs:write".into()])
    );
    let id_token =
        server.verify_id_token(&client, tokens["id_token"].as_str().expect("id token"), "RS256").await;
    assert_eq!(id_token["roles"], json!(["editor"]));
    let info = server.userinfo(TENANT, tokens["access_token"].as_str().expect("access")).await;
    info.expect_status(200, "userinfo");
    assert_eq!(info.json["roles"], json!(["editor"]));

    // Without the `roles` scope neither the ID token nor userinfo names them.
    let mut other = EndUser::new(&server, TENANT);
    let plain = other.tokens(&client, "openid", "alice", PASSWORD).await;
    let id_token =
        server.verify_id_token(&client, plain["id_token"].as_str().expect("id token"), "RS256").await;
    assert!(id_token.get("roles").is_none(), "{id_token}");
    let info = server.userinfo(TENANT, plain["access_token"].as_str().expect("access")).await;
    assert!(info.json.get("roles").is_none(), "{}", info.json);

    // The user view shows the role, and the listing filters by it (by name or id).
    let view = server.admin(Method::GET, &format!("/tenants/{TENANT}/users/{user_id}"), None).await;
    assert_eq!(view.json["roles"], json!([{ "id": role["id"], "name": "editor" }]));
    server.create_user(TENANT, json!({"username": "bob", "password": PASSWORD})).await;
    for filter in ["editor", "EDITOR", role["id"].as_str().expect("id")] {
        let page = server.admin(Method::GET, &format!("/tenants/{TENANT}/users?role={filter}"), None).await;
        page.expect_status(200, "role filter");
        let ids: Vec<&str> =
            page.json["users"].as_array().expect("users").iter().filter_map(|u| u["id"].as_str()).collect();
        assert_eq!(ids, [user_id.as_str()], "role={filter}");
    }
    let none = server.admin(Method::GET, &format!("/tenants/{TENANT}/users?role=nobody"), None).await;
    assert_eq!(none.json["users"], json!([]), "an unknown role has no users");

    // Removed: the refresh's token has no roles, and userinfo (live) none either.
    let path = format!("/tenants/{TENANT}/users/{user_id}/roles/editor");
    server.admin(Method::DELETE, &path, None).await.expect_status(204, "unassign");
    let refreshed = server.refresh(&client, tokens["refresh_token"].as_str().expect("refresh"), None).await;
    refreshed.expect_status(200, "refresh");
    let access = jwt_claims(refreshed.json["access_token"].as_str().expect("access"));
    assert!(access.get("roles").is_none() && access.get("permissions").is_none(), "{access}");
    let id_token =
        server.verify_id_token(&client, refreshed.json["id_token"].as_str().expect("id"), "RS256").await;
    assert_eq!(id_token["roles"], json!([]), "the scope is granted and the user holds none");
    let info = server.userinfo(TENANT, tokens["access_token"].as_str().expect("access")).await;
    assert_eq!(info.json["roles"], json!([]));
}

#[tokio::test]
async fn assignments_answer_404_for_what_is_not_there_and_stay_in_their_tenant() {
    let server = server().await;
    server.create_tenant("globex", Value::Null).await;
    let user = server.create_user(TENANT, json!({"username": "alice", "password": PASSWORD})).await;
    let user_id = user["id"].as_str().expect("id");
    let (client_id, _) = server.cc_client(TENANT, "read").await;
    create_role(&server, TENANT, "editor", &["docs:write"]).await;
    create_role(&server, "globex", "admin", &["everything"]).await;
    for (path, body, status, what) in [
        (format!("users/{user_id}/roles"), json!({"role": "nobody"}), 404, "unknown role"),
        (format!("users/{user_id}/roles"), json!({"role": "admin"}), 404, "another tenant's role"),
        ("users/AAAAAAAAAAAAAAAAAAAAAA/roles".to_owned(), json!({"role": "editor"}), 404, "unknown user"),
        ("clients/nope/roles".to_owned(), json!({"role": "editor"}), 404, "unknown client"),
        (format!("clients/{client_id}/roles"), json!({"roles": "editor"}), 400, "misspelt field"),
        (format!("clients/{client_id}/roles"), json!({}), 400, "no role"),
    ] {
        let reply = server.admin(Method::POST, &format!("/tenants/{TENANT}/{path}"), Some(body)).await;
        reply.expect_status(status, what);
    }
    // A user of one tenant cannot be given roles through another.
    let cross = server
        .admin(
            Method::POST,
            &format!("/tenants/globex/users/{user_id}/roles"),
            Some(json!({"role": "admin"})),
        )
        .await;
    cross.expect_status(404, "the user is not globex's");
    let gone = format!("/tenants/{TENANT}/users/{user_id}/roles/nobody");
    server.admin(Method::DELETE, &gone, None).await.expect_status(404, "unassigning an unknown role");
    let wrong_method =
        server.admin(Method::PUT, &format!("/tenants/{TENANT}/users/{user_id}/roles"), Some(json!({}))).await;
    wrong_method.expect_status(405, "PUT on the assignments");
}

#[tokio::test]
async fn a_subject_with_more_permissions_than_a_token_carries_gets_a_clear_error() {
    let server = server().await;
    let (id, secret) = server.cc_client(TENANT, "read").await;
    let many: Vec<String> = (0..101).map(|i| format!("perm:{i:03}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    create_role(&server, TENANT, "huge", &many).await;
    assign(&server, &format!("clients/{id}"), "huge").await;
    let reply = server.token_basic(TENANT, &id, &secret, &[("grant_type", "client_credentials")]).await;
    reply.expect_status(500, "too many permissions");
    assert_eq!(reply.error(), Some("server_error"));
    assert!(reply.text.contains("at most 100"), "{}", reply.text);
    // Fifty fit, and travel whole.
    let edit = json!({"permissions": &many[..50]});
    server
        .admin(Method::PATCH, &format!("/tenants/{TENANT}/roles/huge"), Some(edit))
        .await
        .expect_status(200, "trim");
    let claims = jwt_claims(&server.cc_token(TENANT, &id, &secret).await);
    assert_eq!(claims["permissions"].as_array().map(Vec::len), Some(50));
}
