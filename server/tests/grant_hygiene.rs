//! Grant hygiene: what a grant is worth once the client's registration or the end-user's
//! account has changed. A refresh follows the client's current scope, grant types and
//! existence; a password change or the user's deletion ends the user's SSO sessions and refresh
//! tokens, and a deleted user's access tokens introspect as inactive; client registration keeps
//! response types and grant types in agreement (RFC 7591 2.1), `implicit` included.

mod common;

use common::{Backend, Client, EndUser, Options, TestServer, code_request, is_login_page, random_string};
use http::Method;
use serde_json::{Value, json};

const TENANT: &str = "acme";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PASSWORD: &str = "correct horse battery staple";

/// A server with tenant `acme`. The per-address login limit is raised: every login of these
/// tests comes from 127.0.0.1.
async fn server() -> TestServer {
    let options = Options::many_logins(Backend::Software);
    let server = TestServer::start_with(options).await;
    server.create_tenant(TENANT, Value::Null).await;
    server
}

/// A first-party confidential code-flow client that may refresh, with `extra` metadata.
async fn rp(server: &TestServer, extra: Value) -> Client {
    Client::register_first_party(server, TENANT, REDIRECT, "openid profile email offline_access", extra).await
}

/// A user with a name (so `profile` releases a claim); returns its id and username.
async fn user(server: &TestServer) -> (String, String) {
    let username = format!("alice-{}", &random_string()[..8]);
    let body = json!({ "username": username, "password": PASSWORD, "name": "Alice Liddell" });
    let id = server.create_user(TENANT, body).await["id"].as_str().expect("user id").to_owned();
    (id, username)
}

/// `PATCH` of client `client` with `body`; asserts 200.
async fn patch_client(server: &TestServer, client: &Client, body: Value) {
    let path = format!("/tenants/{TENANT}/clients/{}", client.id);
    server.admin(Method::PATCH, &path, Some(body)).await.expect_status(200, "patch client");
}

/// The refresh token in a token response.
fn refresh_token(tokens: &Value) -> String {
    tokens["refresh_token"].as_str().expect("a refresh token").to_owned()
}

/// Whether `browser`'s session still signs it in: an authorization request for `client` is
/// answered without the login page.
async fn signed_in(browser: &mut EndUser<'_>, client: &Client) -> bool {
    !is_login_page(&browser.authorize(&code_request(&client.id, REDIRECT, &[])).await)
}

#[tokio::test]
async fn a_refresh_follows_the_scope_the_client_is_registered_for_now() {
    let server = server().await;
    let client = rp(&server, json!({})).await;
    let (_, username) = user(&server).await;
    let mut browser = EndUser::new(&server, TENANT);
    let tokens = browser.tokens(&client, "openid profile offline_access", &username, PASSWORD).await;
    let rt = refresh_token(&tokens);

    // The operator withdraws `profile` from the client.
    patch_client(&server, &client, json!({ "scope": "openid email offline_access" })).await;
    // Asked for by name: refused, and the token is not used up.
    server.refresh(&client, &rt, Some("openid profile")).await.expect_oauth_error(
        400,
        "invalid_scope",
        "a withdrawn scope asked for",
    );
    // Not asked for: the grant less what was withdrawn, and `scope` says so.
    let narrowed = server.refresh(&client, &rt, None).await;
    narrowed.expect_status(200, "refresh after the scope was withdrawn");
    assert_eq!(narrowed.json["scope"], "openid offline_access");
    let access = narrowed.json["access_token"].as_str().expect("access token");
    assert_eq!(common::jwt_claims(access)["scope"], "openid offline_access");
    let info = server.userinfo(TENANT, access).await;
    info.expect_status(200, "userinfo");
    assert!(info.json.get("name").is_none(), "profile claims withdrawn: {}", info.text);
    let rt = refresh_token(&narrowed.json);

    // Nothing of the grant left: nothing to issue.
    patch_client(&server, &client, json!({ "scope": "email" })).await;
    server.refresh(&client, &rt, None).await.expect_oauth_error(400, "invalid_scope", "nothing left");

    // The refresh token still holds what the end-user granted: given back to the client, it
    // is issued again.
    patch_client(&server, &client, json!({ "scope": "openid profile email offline_access" })).await;
    let restored = server.refresh(&client, &rt, None).await;
    restored.expect_status(200, "refresh after the scope was restored");
    assert_eq!(restored.json["scope"], "openid profile offline_access");
}

#[tokio::test]
async fn a_client_that_lost_the_refresh_grant_or_was_deleted_cannot_refresh() {
    let server = server().await;
    let client = rp(&server, json!({})).await;
    let (_, username) = user(&server).await;
    let mut browser = EndUser::new(&server, TENANT);
    let rt = refresh_token(&browser.tokens(&client, "openid offline_access", &username, PASSWORD).await);

    patch_client(&server, &client, json!({ "grant_types": ["authorization_code"] })).await;
    server.refresh(&client, &rt, None).await.expect_oauth_error(
        400,
        "unauthorized_client",
        "refresh_token no longer registered",
    );
    // Without the grant, `offline_access` earns no refresh token either.
    let tokens = browser.tokens(&client, "openid offline_access", &username, PASSWORD).await;
    assert!(tokens.get("refresh_token").is_none(), "no refresh token without the grant: {tokens}");

    // Given back, the same token works: the refusal used nothing up.
    patch_client(&server, &client, json!({ "grant_types": ["authorization_code", "refresh_token"] })).await;
    let refreshed = server.refresh(&client, &rt, None).await;
    refreshed.expect_status(200, "refresh with the grant back");

    // A deleted client cannot authenticate.
    let path = format!("/tenants/{TENANT}/clients/{}", client.id);
    server.admin(Method::DELETE, &path, None).await.expect_status(204, "delete client");
    server.refresh(&client, &refresh_token(&refreshed.json), None).await.expect_oauth_error(
        401,
        "invalid_client",
        "deleted client",
    );
}

#[tokio::test]
async fn a_password_change_ends_the_users_sessions_and_refresh_tokens() {
    let server = server().await;
    let client = rp(&server, json!({})).await;
    let (id, username) = user(&server).await;
    let (_, bystander) = user(&server).await;
    // Two browsers of the user, one of another user.
    let mut laptop = EndUser::new(&server, TENANT);
    let rt_laptop =
        refresh_token(&laptop.tokens(&client, "openid offline_access", &username, PASSWORD).await);
    let mut phone = EndUser::new(&server, TENANT);
    let rt_phone = refresh_token(&phone.tokens(&client, "openid offline_access", &username, PASSWORD).await);
    let mut other = EndUser::new(&server, TENANT);
    let rt_other = refresh_token(&other.tokens(&client, "openid offline_access", &bystander, PASSWORD).await);

    // A profile change alone ends nothing.
    let path = format!("/tenants/{TENANT}/users/{id}");
    server
        .admin(Method::PATCH, &path, Some(json!({ "name": "Alice L." })))
        .await
        .expect_status(200, "rename");
    assert!(signed_in(&mut laptop, &client).await, "a profile change keeps the session");
    let kept = server.refresh(&client, &rt_laptop, None).await;
    kept.expect_status(200, "a profile change keeps the refresh token");
    let rt_laptop = refresh_token(&kept.json);

    let new_password = "a much better passphrase";
    let reply = server.admin(Method::PATCH, &path, Some(json!({ "password": new_password }))).await;
    reply.expect_status(200, "change the password");
    for (browser, rt) in [(&mut laptop, &rt_laptop), (&mut phone, &rt_phone)] {
        assert!(!signed_in(browser, &client).await, "the session ended");
        server.refresh(&client, rt, None).await.expect_oauth_error(
            400,
            "invalid_grant",
            "refresh token revoked",
        );
        assert!(!server.is_active(TENANT, &client.id, &client.secret, rt).await, "introspected as revoked");
    }
    // Another user's grants are untouched.
    assert!(signed_in(&mut other, &client).await, "another user's session");
    server.refresh(&client, &rt_other, None).await.expect_status(200, "another user's refresh token");
    // A login with the new password starts over.
    let mut again = EndUser::new(&server, TENANT);
    let rt_new =
        refresh_token(&again.tokens(&client, "openid offline_access", &username, new_password).await);
    server.refresh(&client, &rt_new, None).await.expect_status(200, "a refresh token of the new login");
    server.assert_alive();
}

#[tokio::test]
async fn deleting_a_user_ends_their_grants_and_deactivates_their_access_tokens() {
    let server = server().await;
    let jwt_rp = rp(&server, json!({})).await;
    let opaque_rp = rp(&server, json!({ "access_token_format": "opaque" })).await;
    let (id, username) = user(&server).await;
    let mut browser = EndUser::new(&server, TENANT);
    let jwt_tokens = browser.tokens(&jwt_rp, "openid offline_access", &username, PASSWORD).await;
    let opaque_tokens = browser.tokens(&opaque_rp, "openid offline_access", &username, PASSWORD).await;
    let jwt = jwt_tokens["access_token"].as_str().expect("JWT access token").to_owned();
    let opaque = opaque_tokens["access_token"].as_str().expect("opaque access token").to_owned();
    let rt = refresh_token(&jwt_tokens);
    // A resource server, whose own client-credentials token names the client, not a user.
    let (rs_id, rs_secret) = server.cc_client(TENANT, "read").await;
    let service_token = server.cc_token(TENANT, &rs_id, &rs_secret).await;
    for token in [&jwt, &opaque, &service_token] {
        assert!(server.is_active(TENANT, &rs_id, &rs_secret, token).await, "active before the deletion");
    }
    assert!(server.is_active(TENANT, &jwt_rp.id, &jwt_rp.secret, &rt).await);

    let path = format!("/tenants/{TENANT}/users/{id}");
    server.admin(Method::DELETE, &path, None).await.expect_status(204, "delete the user");
    for token in [&jwt, &opaque] {
        assert!(!server.is_active(TENANT, &rs_id, &rs_secret, token).await, "a deleted user's access token");
        server.userinfo(TENANT, token).await.expect_bearer_error(
            401,
            "invalid_token",
            "userinfo refuses it too",
        );
    }
    assert!(server.is_active(TENANT, &rs_id, &rs_secret, &service_token).await, "a client's own token");
    assert!(!server.is_active(TENANT, &jwt_rp.id, &jwt_rp.secret, &rt).await, "the refresh token");
    server.refresh(&jwt_rp, &rt, None).await.expect_oauth_error(400, "invalid_grant", "refresh");
    assert!(!signed_in(&mut browser, &jwt_rp).await, "the session ended");
    server.assert_alive();
}

/// `POST .../clients` with `body`; the answer.
async fn register(server: &TestServer, body: Value) -> common::Reply {
    server.admin(Method::POST, &format!("/tenants/{TENANT}/clients"), Some(body)).await
}

#[tokio::test]
async fn registration_keeps_response_types_and_grant_types_in_agreement() {
    let server = server().await;
    let base = |grants: Value, response_types: Value| {
        json!({ "grant_types": grants, "response_types": response_types, "redirect_uris": [REDIRECT],
                "scope": "openid" })
    };
    for (grants, response_types, what) in [
        (json!(["authorization_code"]), json!(["code id_token"]), "hybrid without implicit"),
        (json!(["authorization_code"]), json!(["id_token"]), "implicit without implicit"),
        (json!(["implicit"]), json!(["code id_token"]), "hybrid without authorization_code"),
        (json!(["client_credentials"]), json!(["code"]), "code without authorization_code"),
        (json!(["authorization_code", "implicit"]), json!(["token"]), "bare token: not implemented"),
        (json!(["authorization_code", "implicit"]), json!(["code banana"]), "an unknown response type"),
    ] {
        register(&server, base(grants, response_types)).await.expect_api_error(
            400,
            Some("invalid_client_metadata"),
            what,
        );
    }

    let reply = register(
        &server,
        base(json!(["authorization_code", "implicit"]), json!(["code", "code id_token", "id_token token"])),
    )
    .await;
    reply.expect_status(201, "hybrid and implicit with both grants");
    assert_eq!(reply.json["grant_types"], json!(["authorization_code", "implicit"]));
    let id = reply.json["client_id"].as_str().expect("client_id").to_owned();
    let secret = reply.json["client_secret"].as_str().expect("client_secret").to_owned();
    // A change that breaks the agreement is refused and changes nothing.
    let path = format!("/tenants/{TENANT}/clients/{id}");
    let reply =
        server.admin(Method::PATCH, &path, Some(json!({ "grant_types": ["authorization_code"] }))).await;
    reply.expect_api_error(400, Some("invalid_client_metadata"), "dropping implicit");
    let stored = server.admin(Method::GET, &path, None).await;
    assert_eq!(stored.json["grant_types"], json!(["authorization_code", "implicit"]));
    // Both sides changed together agree again.
    let both = json!({ "grant_types": ["authorization_code"], "response_types": ["code"] });
    server.admin(Method::PATCH, &path, Some(both)).await.expect_status(200, "dropping both");

    // `implicit` is no grant of the token endpoint.
    let form = [("grant_type", "implicit")];
    server.token_basic(TENANT, &id, &secret, &form).await.expect_oauth_error(
        400,
        "unsupported_grant_type",
        "implicit at the token endpoint",
    );
}
