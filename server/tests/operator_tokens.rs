//! The operator's token tools on the real binary (issue 9 item 5): `POST .../tokens/introspect`
//! answers for any token of the tenant what the tenant's `/introspect` tells a resource server,
//! refresh tokens included whichever client holds them, and `{"active":false}` for another
//! tenant's; `POST .../tokens/revoke` revokes any token of the tenant as its owner could at
//! `/revoke`, and answers 204 for every token, known or not, so it tells nothing. Both, and the
//! two revoke-all routes, need the admin key, a known tenant and (the tools) a JSON body naming
//! a token.

mod common;

use common::{Client, EndUser, TestServer};
use http::Method;
use serde_json::{Value, json};

const TENANT: &str = "acme";
const OTHER: &str = "globex";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PASSWORD: &str = "correct horse battery staple";

/// A first-party confidential code-flow client of `tenant` that may refresh, with `extra`.
async fn rp(server: &TestServer, tenant: &str, extra: Value) -> Client {
    let body = json!({
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": [REDIRECT],
        "scope": "openid offline_access",
        "first_party": true,
    });
    Client::new(tenant, server.create_client(tenant, common::with_extra(body, extra)).await, REDIRECT)
}

/// A user of `tenant`; returns its id and username.
async fn user(server: &TestServer, tenant: &str) -> (String, String) {
    let username = format!("user-{}", &common::random_string()[..8]);
    let body = json!({ "username": username, "password": PASSWORD });
    let id = server.create_user(tenant, body).await["id"].as_str().expect("user id").to_owned();
    (id, username)
}

fn field(tokens: &Value, name: &str) -> String {
    tokens[name].as_str().unwrap_or_else(|| panic!("{name} in {tokens}")).to_owned()
}

/// One token of each kind a tenant issues, and the clients that hold them.
struct Tokens {
    /// A client credentials JWT and the resource server (its client) that introspects.
    cc_jwt: String,
    rs: (String, String),
    /// A client credentials opaque token.
    cc_opaque: String,
    /// An end-user's JWT access token, opaque access token and refresh tokens.
    user_jwt: String,
    user_opaque: String,
    refresh: String,
    opaque_refresh: String,
    rp: Client,
    opaque_rp: Client,
    user_id: String,
}

async fn issue_all(server: &TestServer, tenant: &str) -> Tokens {
    let rs = server.cc_client(tenant, "read").await;
    let opaque_cc = server.opaque_client(tenant, "read").await;
    let rp = rp(server, tenant, json!({})).await;
    let opaque_rp = rp_opaque(server, tenant).await;
    let (user_id, username) = user(server, tenant).await;
    let mut browser = EndUser::new(server, tenant);
    let jwt_tokens = browser.tokens(&rp, "openid offline_access", &username, PASSWORD).await;
    let opaque_tokens = browser.tokens(&opaque_rp, "openid offline_access", &username, PASSWORD).await;
    Tokens {
        cc_jwt: server.cc_token(tenant, &rs.0, &rs.1).await,
        cc_opaque: server.cc_token(tenant, &opaque_cc.0, &opaque_cc.1).await,
        rs,
        user_jwt: field(&jwt_tokens, "access_token"),
        user_opaque: field(&opaque_tokens, "access_token"),
        refresh: field(&jwt_tokens, "refresh_token"),
        opaque_refresh: field(&opaque_tokens, "refresh_token"),
        rp,
        opaque_rp,
        user_id,
    }
}

async fn rp_opaque(server: &TestServer, tenant: &str) -> Client {
    rp(server, tenant, json!({ "access_token_format": "opaque" })).await
}

impl Tokens {
    fn access_tokens(&self) -> [&str; 4] {
        [&self.cc_jwt, &self.cc_opaque, &self.user_jwt, &self.user_opaque]
    }

    fn all(&self) -> [&str; 6] {
        [
            &self.cc_jwt,
            &self.cc_opaque,
            &self.user_jwt,
            &self.user_opaque,
            &self.refresh,
            &self.opaque_refresh,
        ]
    }
}

#[tokio::test]
async fn the_operator_sees_every_token_of_its_tenant_as_a_resource_server_would() {
    let server = TestServer::start(common::Backend::Software).await;
    server.create_tenant(TENANT, Value::Null).await;
    server.create_tenant(OTHER, Value::Null).await;
    let t = issue_all(&server, TENANT).await;
    let (rs_id, rs_secret) = &t.rs;

    // Access tokens: exactly the resource server's answer, claims and all.
    for token in t.access_tokens() {
        let operator = server.operator_introspect(TENANT, token).await;
        operator.expect_status(200, "operator introspection");
        assert_eq!(operator.header("cache-control"), Some("no-store"));
        let rs = server.introspect(TENANT, rs_id, rs_secret, token).await;
        rs.expect_status(200, "resource server introspection");
        assert_eq!(operator.json, rs.json, "the operator is told what a resource server is");
        assert_eq!(operator.json["active"], true, "{}", operator.text);
        assert_eq!(operator.json["token_type"], "Bearer");
        for claim in ["scope", "client_id", "sub", "iss", "jti"] {
            assert!(operator.json[claim].is_string(), "{claim}: {}", operator.text);
        }
        for claim in ["exp", "iat"] {
            assert!(operator.json[claim].is_i64(), "{claim}: {}", operator.text);
        }
    }
    let user_jwt = server.operator_introspect(TENANT, &t.user_jwt).await.json;
    assert_eq!(
        (user_jwt["sub"].as_str(), user_jwt["client_id"].as_str()),
        (Some(&*t.user_id), Some(&*t.rp.id))
    );
    let cc = server.operator_introspect(TENANT, &t.cc_jwt).await.json;
    assert_eq!((cc["sub"].as_str(), cc["client_id"].as_str()), (Some(&**rs_id), Some(&**rs_id)));

    // Refresh tokens: described to the operator whoever holds them, as to their own client,
    // and to no other client.
    for (token, holder) in [(&t.refresh, &t.rp), (&t.opaque_refresh, &t.opaque_rp)] {
        let operator = server.operator_introspect(TENANT, token).await;
        assert_eq!(operator.json["active"], true, "{}", operator.text);
        assert_eq!(operator.json["client_id"].as_str(), Some(&*holder.id));
        assert_eq!(operator.json["sub"].as_str(), Some(&*t.user_id));
        let own = server.introspect(TENANT, &holder.id, &holder.secret, token).await;
        assert_eq!(operator.json, own.json, "the operator is told what the holder is");
        assert!(!server.is_active(TENANT, rs_id, rs_secret, token).await, "not to another client");
    }

    // Another tenant's tokens, of every kind, and garbage: the bare inactive answer.
    let other = issue_all(&server, OTHER).await;
    for token in other.all().into_iter().chain(["", "x", "a.b.c", "not-a-token-at-all"]) {
        if token.is_empty() {
            continue;
        }
        let reply = server.operator_introspect(TENANT, token).await;
        reply.expect_status(200, "another tenant's token");
        assert_eq!(reply.text, r#"{"active":false}"#, "nothing tells it exists elsewhere");
    }
    // ...while its own tenant's operator sees them.
    for token in other.all() {
        assert!(server.operator_sees_active(OTHER, token).await);
    }
    server.assert_alive();
}

#[tokio::test]
async fn the_operator_revokes_any_token_of_its_tenant_whoever_holds_it() {
    let server = TestServer::start(common::Backend::Software).await;
    server.create_tenant(TENANT, Value::Null).await;
    server.create_tenant(OTHER, Value::Null).await;
    let t = issue_all(&server, TENANT).await;
    let other = issue_all(&server, OTHER).await;
    let (rs_id, rs_secret) = &t.rs;
    // Looked up once first, so the opaque tokens sit in the shards' memory.
    for token in t.all() {
        assert!(server.operator_sees_active(TENANT, token).await, "active before");
    }

    // Another tenant's tokens and unknown ones: the same 204, and nothing happens.
    for token in other.all().into_iter().chain(["unknown", "a.b.c"]) {
        server.operator_revoke(TENANT, token).await;
    }
    for token in other.all() {
        assert!(server.operator_sees_active(OTHER, token).await, "untouched in its own tenant");
    }

    // Each kind, none of them the operator's: inactive everywhere afterwards.
    for token in t.all() {
        server.operator_revoke(TENANT, token).await;
        assert!(!server.operator_sees_active(TENANT, token).await, "inactive to the operator");
        // Revoking again is the same 204.
        server.operator_revoke(TENANT, token).await;
    }
    for token in t.access_tokens() {
        assert!(!server.is_active(TENANT, rs_id, rs_secret, token).await, "inactive to a resource server");
    }
    for token in [&t.user_jwt, &t.user_opaque] {
        server.userinfo(TENANT, token).await.expect_bearer_error(401, "invalid_token", "userinfo");
    }
    // A refresh token's revocation ends its family (RFC 7009 2.1).
    server.refresh(&t.rp, &t.refresh, None).await.expect_oauth_error(400, "invalid_grant", "refresh");
    server.refresh(&t.opaque_rp, &t.opaque_refresh, None).await.expect_oauth_error(
        400,
        "invalid_grant",
        "opaque client's refresh",
    );
    server.assert_alive();
}

#[tokio::test]
async fn the_tools_need_the_admin_key_a_known_tenant_and_a_token() {
    let server = TestServer::start(common::Backend::Software).await;
    server.create_tenant(TENANT, Value::Null).await;
    let (client_id, _) = server.cc_client(TENANT, "read").await;
    let (user_id, _) = user(&server, TENANT).await;
    let tools = [format!("/tenants/{TENANT}/tokens/introspect"), format!("/tenants/{TENANT}/tokens/revoke")];
    let revoke_alls = [
        format!("/tenants/{TENANT}/users/{user_id}/revoke-all"),
        format!("/tenants/{TENANT}/clients/{client_id}/revoke-all"),
    ];
    let json_ct = ("content-type", "application/json");

    for path in tools.iter().chain(&revoke_alls) {
        let url = format!("/api/v1{path}");
        let body = Some(br#"{"token":"x"}"#.to_vec());
        // No key, a wrong key, another scheme: 401.
        server.send(Method::POST, &url, &[json_ct], body.clone()).await.expect_api_error(401, None, "no key");
        let wrong = [("authorization", "Bearer not-the-admin-key-not-the-admin-key"), json_ct];
        server.send(Method::POST, &url, &wrong, body.clone()).await.expect_api_error(401, None, "wrong key");
        // Only POST.
        server.admin(Method::GET, path, None).await.expect_api_error(405, None, "GET");
        // An unknown tenant: 404.
        let elsewhere = path.replace(TENANT, "nosuch");
        server.admin(Method::POST, &elsewhere, Some(json!({ "token": "x" }))).await.expect_api_error(
            404,
            Some("not_found"),
            "unknown tenant",
        );
    }
    // An unknown user or client: 404.
    for path in [
        format!("/tenants/{TENANT}/users/AAAAAAAAAAAAAAAAAAAAAA/revoke-all"),
        format!("/tenants/{TENANT}/clients/nosuch/revoke-all"),
    ] {
        server.admin(Method::POST, &path, None).await.expect_api_error(404, Some("not_found"), "unknown");
    }
    // A body that names no token: 400; a body that is not JSON: 415 (or 400 when it claims to be).
    for path in &tools {
        for bad in [
            json!({}),
            json!({ "token": "" }),
            json!({ "token": 1 }),
            json!({ "token": "x", "other": 1 }),
            json!(["x"]),
        ] {
            server.admin(Method::POST, path, Some(bad.clone())).await.expect_api_error(
                400,
                Some("invalid_request"),
                &format!("{bad}"),
            );
        }
        let url = format!("/api/v1{path}");
        let auth = format!("Bearer {}", server.admin_key);
        let form = [("authorization", auth.as_str()), ("content-type", "application/x-www-form-urlencoded")];
        server.send(Method::POST, &url, &form, Some(b"token=x".to_vec())).await.expect_api_error(
            415,
            None,
            "a form body",
        );
        let not_json = [("authorization", auth.as_str()), json_ct];
        server.send(Method::POST, &url, &not_json, Some(b"token=x".to_vec())).await.expect_api_error(
            400,
            Some("invalid_request"),
            "not JSON",
        );
    }
    server.assert_alive();
}
