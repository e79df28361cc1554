//! `POST .../users/{id}/revoke-all` and `POST .../clients/{id}/revoke-all` on the real binary
//! (issue 9 item 5). A user's: their SSO session, refresh tokens, JWT and opaque access tokens
//! and codes not yet redeemed, from every client, stop working in one call, and nobody else's.
//! A client's: everything issued to it (client credentials tokens, its users' access and
//! refresh tokens, codes) stops, other clients' tokens and the users' sessions do not. In both
//! cases what is obtained right after the call works (the call answers once its cut-off second
//! has begun, so no test waits for the clock), and the revocation holds across a restart.

mod common;

use common::{Backend, Client, EndUser, Options, TestServer, code_request, is_login_page, redirect_params};
use serde_json::{Value, json};

const TENANT: &str = "acme";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PASSWORD: &str = "correct horse battery staple";
const SCOPE: &str = "openid offline_access";

/// A server with tenant `acme`; the per-address login limit is raised, since every login of
/// these tests comes from 127.0.0.1.
async fn server() -> TestServer {
    let mut options = Options::new(Backend::Software);
    options.extra_args = vec!["--login-attempts-per-ip-per-minute".into(), "1000".into()];
    let server = TestServer::start_with(options).await;
    server.create_tenant(TENANT, Value::Null).await;
    server
}

/// A first-party confidential client that signs users in, refreshes and gets tokens for
/// itself, with `extra` metadata.
async fn app(server: &TestServer, extra: Value) -> Client {
    let body = json!({
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "redirect_uris": [REDIRECT],
        "scope": "openid offline_access read",
        "first_party": true,
    });
    Client::new(TENANT, server.create_client(TENANT, common::with_extra(body, extra)).await, REDIRECT)
}

async fn user(server: &TestServer) -> (String, String) {
    let username = format!("user-{}", &common::random_string()[..8]);
    let body = json!({ "username": username, "password": PASSWORD });
    let id = server.create_user(TENANT, body).await["id"].as_str().expect("user id").to_owned();
    (id, username)
}

fn field(tokens: &Value, name: &str) -> String {
    tokens[name].as_str().unwrap_or_else(|| panic!("{name} in {tokens}")).to_owned()
}

/// An end-user's grant through one client: its access and refresh tokens.
struct Grant {
    client: Client,
    access: String,
    refresh: String,
}

async fn grant(browser: &mut EndUser<'_>, client: &Client, username: &str) -> Grant {
    let tokens = browser.tokens(client, SCOPE, username, PASSWORD).await;
    Grant {
        client: client.clone(),
        access: field(&tokens, "access_token"),
        refresh: field(&tokens, "refresh_token"),
    }
}

/// Whether `browser`'s session still signs it in at `client`: the login page (false), or a
/// code sent back at once (true); anything else fails the test.
async fn signed_in(browser: &mut EndUser<'_>, client: &Client) -> bool {
    let reply = browser.authorize(&code_request(&client.id, REDIRECT, &[("scope", "openid")])).await;
    if is_login_page(&reply) {
        return false;
    }
    let params = redirect_params(&reply, REDIRECT, "a code from the session");
    assert!(params.contains_key("code") && !params.contains_key("error"), "{params:?}");
    true
}

/// The `iat` the operator's introspection gives an active token.
async fn iat(server: &TestServer, token: &str) -> i64 {
    let reply = server.operator_introspect(TENANT, token).await;
    assert_eq!(reply.json["active"], true, "{}", reply.text);
    reply.json["iat"].as_i64().expect("iat")
}

/// Asserts that `g` no longer works anywhere: its access token inactive to the operator and to
/// a resource server, refused at userinfo, and its refresh token inactive and refused.
async fn assert_dead(server: &TestServer, rs: &(String, String), g: &Grant, what: &str) {
    assert!(!server.operator_sees_active(TENANT, &g.access).await, "{what}: access token, operator");
    assert!(
        !server.is_active(TENANT, &rs.0, &rs.1, &g.access).await,
        "{what}: access token, resource server"
    );
    server.userinfo(TENANT, &g.access).await.expect_bearer_error(401, "invalid_token", what);
    assert!(!server.operator_sees_active(TENANT, &g.refresh).await, "{what}: refresh token");
    server.refresh(&g.client, &g.refresh, None).await.expect_oauth_error(400, "invalid_grant", what);
}

/// Asserts that `g` works: both tokens active, userinfo answers, and a refresh rotates (the
/// successor is kept in `g`).
async fn assert_alive(server: &TestServer, rs: &(String, String), g: &mut Grant, what: &str) {
    assert!(server.is_active(TENANT, &rs.0, &rs.1, &g.access).await, "{what}: access token");
    server.userinfo(TENANT, &g.access).await.expect_status(200, what);
    assert!(server.operator_sees_active(TENANT, &g.refresh).await, "{what}: refresh token");
    let reply = server.refresh(&g.client, &g.refresh, None).await;
    reply.expect_status(200, what);
    g.refresh = field(&reply.json, "refresh_token");
}

#[tokio::test]
async fn a_users_revoke_all_ends_every_grant_of_theirs_and_nobody_elses() {
    let mut server = server().await;
    let rs = server.cc_client(TENANT, "read").await;
    let jwt_app = app(&server, json!({})).await;
    let opaque_app = app(&server, json!({ "access_token_format": "opaque" })).await;
    let (id, username) = user(&server).await;
    let (_, bystander) = user(&server).await;

    let mut browser = EndUser::new(&server, TENANT);
    let old =
        [grant(&mut browser, &jwt_app, &username).await, grant(&mut browser, &opaque_app, &username).await];
    let pending = browser.pkce_code(&jwt_app, SCOPE, &username, PASSWORD).await;
    let mut other = EndUser::new(&server, TENANT);
    let mut others = grant(&mut other, &opaque_app, &bystander).await;
    let old_iat = iat(&server, &old[0].access).await;
    for g in &old {
        // Looked up once, so the opaque token sits in the shards' memory.
        assert!(server.is_active(TENANT, &rs.0, &rs.1, &g.access).await, "active before");
    }

    let cut_off = server.revoke_all(TENANT, "users", &id).await;
    assert!(old_iat < cut_off, "{old_iat} < {cut_off}");

    for g in &old {
        assert_dead(&server, &rs, g, "the user's grant").await;
    }
    server.exchange(&jwt_app, &pending.code, Some(&pending.verifier)).await.expect_oauth_error(
        400,
        "invalid_grant",
        "a code issued before",
    );
    assert!(!signed_in(&mut browser, &jwt_app).await, "the session ended: /authorize asks to log in");
    assert_alive(&server, &rs, &mut others, "another user's grant").await;
    assert!(signed_in(&mut other, &opaque_app).await, "another user's session");
    // The user is not disabled: a new login, at once, works with all its grants.
    let mut again = EndUser::new(&server, TENANT);
    let mut new = grant(&mut again, &jwt_app, &username).await;
    let mut new_opaque = grant(&mut again, &opaque_app, &username).await;
    assert!(iat(&server, &new.access).await >= cut_off, "issued after the cut-off");
    assert_alive(&server, &rs, &mut new, "a new login's grant").await;
    assert_alive(&server, &rs, &mut new_opaque, "a new login's opaque grant").await;
    let (old_session, new_session) = (browser.jar.clone(), again.jar.clone());
    let read = server.admin(http::Method::GET, &format!("/tenants/{TENANT}/users/{id}"), None).await;
    assert_eq!(read.json["disabled"], false, "{}", read.text);

    // The revocation holds across a restart; what came after it still works.
    server.restart().await;
    for g in &old {
        assert_dead(&server, &rs, g, "after a restart").await;
    }
    assert_alive(&server, &rs, &mut new, "a new grant after a restart").await;
    assert_alive(&server, &rs, &mut new_opaque, "a new opaque grant after a restart").await;
    let mut browser = EndUser::new(&server, TENANT);
    browser.jar = old_session;
    assert!(!signed_in(&mut browser, &jwt_app).await, "the old session stays ended");
    let mut again = EndUser::new(&server, TENANT);
    again.jar = new_session;
    assert!(signed_in(&mut again, &jwt_app).await, "the new session lives");
    server.assert_alive();
}

#[tokio::test]
async fn a_clients_revoke_all_ends_everything_issued_to_it_and_keeps_sessions() {
    let mut server = server().await;
    let rs = server.cc_client(TENANT, "read").await;
    let jwt_app = app(&server, json!({})).await;
    let opaque_app = app(&server, json!({ "access_token_format": "opaque" })).await;
    let bystander_app = app(&server, json!({})).await;
    let (_, username) = user(&server).await;

    let mut browser = EndUser::new(&server, TENANT);
    let old =
        [grant(&mut browser, &jwt_app, &username).await, grant(&mut browser, &opaque_app, &username).await];
    let mut bystanders = grant(&mut browser, &bystander_app, &username).await;
    let pending = browser.pkce_code(&jwt_app, SCOPE, &username, PASSWORD).await;
    let cc_old = [
        server.cc_token(TENANT, &jwt_app.id, &jwt_app.secret).await,
        server.cc_token(TENANT, &opaque_app.id, &opaque_app.secret).await,
    ];
    let bystander_cc = server.cc_token(TENANT, &bystander_app.id, &bystander_app.secret).await;
    for token in cc_old.iter().chain([&old[0].access, &old[1].access]) {
        assert!(server.is_active(TENANT, &rs.0, &rs.1, token).await, "active before");
    }

    let cut_off = server.revoke_all(TENANT, "clients", &jwt_app.id).await;
    assert!(server.revoke_all(TENANT, "clients", &opaque_app.id).await >= cut_off);

    for g in &old {
        assert_dead(&server, &rs, g, "the client's end-user grant").await;
    }
    for token in &cc_old {
        assert!(!server.operator_sees_active(TENANT, token).await, "the client's own token");
        assert!(
            !server.is_active(TENANT, &rs.0, &rs.1, token).await,
            "the client's own token, resource server"
        );
    }
    server.exchange(&jwt_app, &pending.code, Some(&pending.verifier)).await.expect_oauth_error(
        400,
        "invalid_grant",
        "a code issued to it before",
    );
    // Another client's grants are untouched; the user's session is theirs, not the client's.
    assert_alive(&server, &rs, &mut bystanders, "another client's grant").await;
    assert!(server.is_active(TENANT, &rs.0, &rs.1, &bystander_cc).await, "another client's own token");
    assert!(signed_in(&mut browser, &jwt_app).await, "the session lives");

    // The client keeps working: new tokens, at once, from the same session and for itself.
    let mut new = grant(&mut browser, &jwt_app, &username).await;
    let mut new_opaque = grant(&mut browser, &opaque_app, &username).await;
    assert!(iat(&server, &new.access).await >= cut_off, "issued after the cut-off");
    assert_alive(&server, &rs, &mut new, "a new grant").await;
    assert_alive(&server, &rs, &mut new_opaque, "a new opaque grant").await;
    let cc_new = [
        server.cc_token(TENANT, &jwt_app.id, &jwt_app.secret).await,
        server.cc_token(TENANT, &opaque_app.id, &opaque_app.secret).await,
    ];
    for token in &cc_new {
        assert!(server.is_active(TENANT, &rs.0, &rs.1, token).await, "a new client credentials token");
    }
    // The client's record shows nothing of it (the cut-off is no metadata).
    let read =
        server.admin(http::Method::GET, &format!("/tenants/{TENANT}/clients/{}", jwt_app.id), None).await;
    read.expect_status(200, "read the client");
    assert!(read.json.get("grants_valid_from").is_none(), "{}", read.text);

    server.restart().await;
    for g in &old {
        assert_dead(&server, &rs, g, "after a restart").await;
    }
    for token in &cc_old {
        assert!(!server.is_active(TENANT, &rs.0, &rs.1, token).await, "after a restart");
    }
    assert_alive(&server, &rs, &mut new, "a new grant after a restart").await;
    assert_alive(&server, &rs, &mut new_opaque, "a new opaque grant after a restart").await;
    for token in &cc_new {
        assert!(server.is_active(TENANT, &rs.0, &rs.1, token).await, "after a restart");
    }
    server.assert_alive();
}
