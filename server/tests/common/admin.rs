//! The admin API (`/api/v1`): the authenticated request, and one helper per resource that
//! asserts the success status (tenants, clients, users, settings, keys).

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};

use super::http::Reply;
use super::jwt::all_keys;
use super::process::TestServer;

impl TestServer {
    /// An admin request with the admin key and, when given, a JSON body.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let auth = format!("Bearer {}", self.admin_key);
        let mut headers = vec![(AUTHORIZATION.as_str(), auth.as_str())];
        if body.is_some() {
            headers.push((CONTENT_TYPE.as_str(), "application/json"));
        }
        let body = body.map(|b| serde_json::to_vec(&b).expect("JSON body"));
        self.send(method, &format!("/api/v1{path}"), &headers, body).await
    }

    /// A client credentials client of `tenant` holding a new role with `permissions`, and a
    /// token of it (opaque when `opaque`, else a JWT): a credential for the admin API that only
    /// those permissions open.
    pub async fn admin_token(&self, tenant: &str, permissions: &[&str], opaque: bool) -> String {
        let (id, secret) = if opaque {
            self.opaque_client(tenant, "read").await
        } else {
            self.cc_client(tenant, "read").await
        };
        let name = format!("ops-{}", &super::values::random_string()[..8]);
        let body = json!({ "name": name, "permissions": permissions });
        self.admin(Method::POST, &format!("/tenants/{tenant}/roles"), Some(body))
            .await
            .expect_status(201, "role");
        let path = format!("/tenants/{tenant}/clients/{id}/roles");
        self.admin(Method::POST, &path, Some(json!({ "role": name }))).await.expect_status(200, "assign");
        self.cc_token(tenant, &id, &secret).await
    }

    /// `POST /api/v1/tenants` with `id` and `settings` (omitted when `Null`); asserts 201.
    pub async fn create_tenant(&self, id: &str, settings: Value) -> Value {
        let mut body = json!({ "id": id });
        if !settings.is_null() {
            body["settings"] = settings;
        }
        let reply = self.admin(Method::POST, "/tenants", Some(body)).await;
        reply.expect_status(201, &format!("create tenant {id}"));
        reply.json
    }

    /// `POST /api/v1/tenants/{t}/clients`; asserts 201 and returns the id and (for a
    /// confidential client) the secret.
    pub async fn create_client(&self, tenant: &str, body: Value) -> (String, String) {
        let reply = self.admin(Method::POST, &format!("/tenants/{tenant}/clients"), Some(body)).await;
        reply.expect_status(201, "create client");
        let id = reply.json["client_id"].as_str().expect("client_id").to_owned();
        let secret = reply.json["client_secret"].as_str().unwrap_or_default().to_owned();
        (id, secret)
    }

    /// `POST /api/v1/tenants/{t}/users`; asserts 201 and that the answer shows neither the
    /// password nor its hash, and returns the stored user.
    pub async fn create_user(&self, tenant: &str, body: Value) -> Value {
        let reply = self.admin(Method::POST, &format!("/tenants/{tenant}/users"), Some(body.clone())).await;
        reply.expect_status(201, &format!("create user in {tenant}"));
        assert_no_password(&reply.text, &reply.json, body["password"].as_str().unwrap_or_default());
        reply.json
    }

    /// The operator's `POST /api/v1/tenants/{t}/tokens/introspect` with `{"token": token}`.
    pub async fn operator_introspect(&self, tenant: &str, token: &str) -> Reply {
        let path = format!("/tenants/{tenant}/tokens/introspect");
        self.admin(Method::POST, &path, Some(json!({ "token": token }))).await
    }

    /// The `active` member of [`operator_introspect`](Self::operator_introspect); asserts 200.
    pub async fn operator_sees_active(&self, tenant: &str, token: &str) -> bool {
        let reply = self.operator_introspect(tenant, token).await;
        reply.expect_status(200, "operator introspection");
        reply.json["active"].as_bool().expect("active is a boolean")
    }

    /// The operator's `POST /api/v1/tenants/{t}/tokens/revoke` with `{"token": token}`;
    /// asserts 204 (the answer for every token, known or not).
    pub async fn operator_revoke(&self, tenant: &str, token: &str) {
        let path = format!("/tenants/{tenant}/tokens/revoke");
        self.admin(Method::POST, &path, Some(json!({ "token": token })))
            .await
            .expect_status(204, "operator revoke");
    }

    /// `POST /api/v1/tenants/{t}/{kind}/{id}/revoke-all` (`kind` is `users` or `clients`);
    /// asserts 200 and returns the cut-off it answers, `grants_valid_from`.
    pub async fn revoke_all(&self, tenant: &str, kind: &str, id: &str) -> i64 {
        let reply =
            self.admin(Method::POST, &format!("/tenants/{tenant}/{kind}/{id}/revoke-all"), None).await;
        reply.expect_status(200, &format!("revoke-all of {kind}/{id}"));
        reply.json["grants_valid_from"].as_i64().expect("grants_valid_from")
    }

    /// A confidential `client_credentials` client (`client_secret_basic`) with `scope`.
    pub async fn cc_client(&self, tenant: &str, scope: &str) -> (String, String) {
        self.create_client(tenant, json!({ "grant_types": ["client_credentials"], "scope": scope })).await
    }

    /// Like [`cc_client`](Self::cc_client) but issuing opaque access tokens.
    pub async fn opaque_client(&self, tenant: &str, scope: &str) -> (String, String) {
        self.create_client(
            tenant,
            json!({ "grant_types": ["client_credentials"], "scope": scope, "access_token_format": "opaque" }),
        )
        .await
    }

    /// `PUT /api/v1/tenants/{t}/settings`; asserts 200 and returns the stored settings.
    pub async fn put_settings(&self, tenant: &str, settings: Value) -> Value {
        let reply = self.admin(Method::PUT, &format!("/tenants/{tenant}/settings"), Some(settings)).await;
        reply.expect_status(200, "put settings");
        reply.json
    }

    /// `GET /api/v1/tenants/{t}/settings`; asserts 200.
    pub async fn get_settings(&self, tenant: &str) -> Value {
        let reply = self.admin(Method::GET, &format!("/tenants/{tenant}/settings"), None).await;
        reply.expect_status(200, "get settings");
        reply.json
    }

    /// `POST /api/v1/tenants/{t}/keys/rotate`; asserts 200.
    pub async fn rotate_keys(&self, tenant: &str) -> Value {
        let reply = self.admin(Method::POST, &format!("/tenants/{tenant}/keys/rotate"), None).await;
        reply.expect_status(200, "rotate keys");
        reply.json
    }

    /// `GET /api/v1/tenants/{t}/keys`; asserts 200 and returns the `keys` array.
    pub async fn list_keys(&self, tenant: &str) -> Vec<Value> {
        let reply = self.admin(Method::GET, &format!("/tenants/{tenant}/keys"), None).await;
        reply.expect_status(200, "list keys");
        reply.json["keys"].as_array().expect("keys array").clone()
    }

    /// `GET /api/v1/tenants`; asserts 200.
    pub async fn list_tenants(&self) -> Value {
        let reply = self.admin(Method::GET, "/tenants", None).await;
        reply.expect_status(200, "list tenants");
        reply.json
    }

    /// `GET /api/v1/tenants/{t}/clients`; asserts 200.
    pub async fn list_clients(&self, tenant: &str) -> Value {
        let reply = self.admin(Method::GET, &format!("/tenants/{tenant}/clients"), None).await;
        reply.expect_status(200, "list clients");
        reply.json
    }
}

/// `base` with the members of `extra` added or replaced (a shallow merge), for client metadata
/// that varies from a test's default.
pub fn with_extra(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    base
}

/// Asserts that an answer about a user shows neither `password` (when not empty), nor an argon2
/// hash, nor any member named like a password.
#[track_caller]
pub fn assert_no_password(reply_text: &str, value: &Value, password: &str) {
    assert!(password.is_empty() || !reply_text.contains(password), "password echoed: {reply_text}");
    assert!(!reply_text.contains("argon2"), "hash shown: {reply_text}");
    for key in all_keys(value) {
        assert!(!key.contains("password"), "`{key}` shown: {value}");
    }
}
