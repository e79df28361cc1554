//! Crash recovery of the end-user grants, on the real binary: each write a response
//! acknowledged survives `kill -9` right after it, and every check that depends on it still
//! holds after a restart on the same data dir and port. One test per write: an authorization
//! code issued (redeemed once after the crash) and redeemed (a replay after the crash is
//! refused and revokes what the code issued, and that revocation survives a second crash); a
//! refresh rotation (the old token is a reuse that revokes the family, the new one is revoked
//! with it unless it was presented first); a family revoked through RFC 7009; a logout (the
//! old session cookie no longer signs in, `prompt=none` answers `login_required`); a user's
//! deletion (refresh tokens refused, access tokens inactive, no login); and a client secret
//! rotation (the old secret refused, the new one accepted).
//!
//! `durability.rs` covers the client-credentials side (tenants, settings, clients, opaque
//! tokens, JWT revocations, keys) with both signing backends; these writes are the store's,
//! not the signer's, so software keys suffice here.

mod common;

use common::{
    Backend, Client, Code, EndUser, Options, Reply, TestServer, code_request, form_body, hidden_input,
    is_login_page, redirect_params, with_extra,
};
use reqwest::Method;
use serde_json::{Value, json};

const TENANT: &str = "acme";
const CB: &str = "https://app.example/cb";
const BYE: &str = "https://app.example/bye";
const PASSWORD: &str = "correct horse battery staple";
const SCOPE: &str = "openid offline_access";

/// A server with tenant `acme` (no refresh reuse grace, set explicitly), a resource server's
/// client-credentials client for introspection, and user `alice`.
struct Fixture {
    server: TestServer,
    /// The resource server: `client_secret_basic`, introspects access tokens.
    rs: (String, String),
}

/// The fixture. The per-address login limit is raised: every login comes from 127.0.0.1.
async fn fixture() -> Fixture {
    let options = Options::many_logins(Backend::Software);
    let server = TestServer::start_with(options).await;
    // The reuse rule below must not depend on the server's default grace.
    server.create_tenant(TENANT, json!({ "refresh_reuse_grace_secs": 0 })).await;
    server.create_user(TENANT, json!({ "username": "alice", "password": PASSWORD })).await;
    let rs = server.cc_client(TENANT, "read").await;
    Fixture { server, rs }
}

/// A first-party confidential code-flow client that may refresh, with `extra` metadata.
async fn rp(server: &TestServer, extra: Value) -> Client {
    let body = json!({
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": [CB],
        "post_logout_redirect_uris": [BYE],
        "scope": "openid profile offline_access",
        "first_party": true,
    });
    Client::new(TENANT, server.create_client(TENANT, with_extra(body, extra)).await, CB)
}

/// SIGKILL, then a restart on the same data dir and port.
async fn crash(server: &mut TestServer) {
    server.kill9();
    server.restart().await;
}

/// A code for `client` from a fresh browser that signs in as `username`.
async fn code_for(server: &TestServer, client: &Client, username: &str) -> Code {
    EndUser::new(server, TENANT).pkce_code(client, SCOPE, username, PASSWORD).await
}

/// The access and refresh tokens of a token response.
fn access_and_refresh(reply: &Reply) -> (String, String) {
    let access = reply.json["access_token"].as_str().expect("access_token").to_owned();
    let refresh = reply.json["refresh_token"].as_str().expect("refresh_token").to_owned();
    (access, refresh)
}

/// The tokens of a fresh sign-in as `username` for `client`: access and refresh token.
async fn tokens(server: &TestServer, client: &Client, username: &str) -> (String, String) {
    let code = code_for(server, client, username).await;
    let reply = server.exchange(client, &code.code, Some(&code.verifier)).await;
    reply.expect_status(200, "code exchange");
    access_and_refresh(&reply)
}

/// A refresh that must succeed; returns the rotated refresh token.
async fn rotate(server: &TestServer, client: &Client, refresh: &str, what: &str) -> String {
    let reply = server.refresh(client, refresh, None).await;
    reply.expect_status(200, what);
    let (_, rotated) = access_and_refresh(&reply);
    assert_ne!(rotated, refresh, "{what}: rotated");
    rotated
}

/// Asserts that a refresh with `token` is refused with `invalid_grant`.
async fn expect_refresh_refused(server: &TestServer, client: &Client, token: &str, what: &str) {
    server.refresh(client, token, None).await.expect_oauth_error(400, "invalid_grant", what);
}

/// Whether the resource server's introspection says `token` is active.
async fn rs_sees_active(server: &TestServer, rs: &(String, String), token: &str) -> bool {
    server.is_active(TENANT, &rs.0, &rs.1, token).await
}

/// Whether the client's own introspection says its refresh `token` is active.
async fn client_sees_active(server: &TestServer, client: &Client, token: &str) -> bool {
    server.is_active(TENANT, &client.id, &client.secret, token).await
}

/// The answer to `prompt=none` for `client` from a browser holding only `session_cookie`: the
/// redirect's parameters.
async fn silent_sign_in(
    server: &TestServer,
    client: &Client,
    session_cookie: &str,
) -> std::collections::BTreeMap<String, String> {
    let mut browser = EndUser::new(server, TENANT);
    browser.jar.insert(common::SESSION_COOKIE.into(), session_cookie.to_owned());
    let reply = browser.authorize(&code_request(&client.id, CB, &[("prompt", "none")])).await;
    redirect_params(&reply, CB, "prompt=none redirects to the client")
}

#[tokio::test]
async fn a_code_issued_before_a_crash_is_redeemed_once_after_it() {
    let Fixture { mut server, rs } = fixture().await;
    let client = rp(&server, json!({})).await;
    let code = code_for(&server, &client, "alice").await;
    crash(&mut server).await;

    let first = server.exchange(&client, &code.code, Some(&code.verifier)).await;
    first.expect_status(200, "the code issued before the crash");
    let (access, refresh) = access_and_refresh(&first);
    assert!(rs_sees_active(&server, &rs, &access).await, "its access token");
    server.exchange(&client, &code.code, Some(&code.verifier)).await.expect_oauth_error(
        400,
        "invalid_grant",
        "the same code again",
    );
    // RFC 6749 4.1.2: what the code issued is revoked on a replay.
    assert!(!rs_sees_active(&server, &rs, &access).await, "access token revoked by the replay");
    expect_refresh_refused(&server, &client, &refresh, "refresh token revoked by the replay").await;
    server.assert_alive();
}

#[tokio::test]
async fn a_code_redeemed_before_a_crash_stays_used_and_a_replay_revokes_its_tokens() {
    let Fixture { mut server, rs } = fixture().await;
    // Both access-token formats: a JWT goes on the deny list, an opaque token is deleted.
    let jwt_client = rp(&server, json!({})).await;
    let opaque_client = rp(&server, json!({ "access_token_format": "opaque" })).await;
    let mut issued = Vec::new();
    for client in [&jwt_client, &opaque_client] {
        let code = code_for(&server, client, "alice").await;
        let reply = server.exchange(client, &code.code, Some(&code.verifier)).await;
        reply.expect_status(200, "code exchange");
        issued.push((client, code, access_and_refresh(&reply)));
    }
    // The last request is the redemption: killed right after its 200.
    crash(&mut server).await;

    for (client, code, (access, refresh)) in &issued {
        // What the redemption issued survived it...
        assert!(rs_sees_active(&server, &rs, access).await, "access token after the crash");
        assert!(client_sees_active(&server, client, refresh).await, "refresh token after the crash");
        // ...and so did the code's use: the replay is caught.
        server.exchange(client, &code.code, Some(&code.verifier)).await.expect_oauth_error(
            400,
            "invalid_grant",
            "a code redeemed before the crash",
        );
        assert!(!rs_sees_active(&server, &rs, access).await, "access token revoked by the replay");
        server.userinfo(TENANT, access).await.expect_bearer_error(
            401,
            "invalid_token",
            "userinfo refuses it too",
        );
        expect_refresh_refused(&server, client, refresh, "refresh token revoked by the replay").await;
    }
    // The revocation the replay made is a write of its own: it survives a crash too.
    crash(&mut server).await;
    for (client, code, (access, refresh)) in &issued {
        assert!(!rs_sees_active(&server, &rs, access).await, "still revoked after a second crash");
        assert!(!client_sees_active(&server, client, refresh).await, "refresh token introspects inactive");
        expect_refresh_refused(&server, client, refresh, "refresh token after a second crash").await;
        server.exchange(client, &code.code, Some(&code.verifier)).await.expect_oauth_error(
            400,
            "invalid_grant",
            "the code after a second crash",
        );
    }
    server.assert_alive();
}

#[tokio::test]
async fn a_refresh_rotation_survives_a_crash_and_reuse_after_it_revokes_the_family() {
    let Fixture { mut server, .. } = fixture().await;
    let client = rp(&server, json!({})).await;
    // Family A: after the crash the old token is presented first, before the new one.
    let (_, a0) = tokens(&server, &client, "alice").await;
    let a1 = rotate(&server, &client, &a0, "rotate family A").await;
    // Family B: after the crash the new token is presented first.
    let (_, b0) = tokens(&server, &client, "alice").await;
    let b1 = rotate(&server, &client, &b0, "rotate family B").await;
    crash(&mut server).await;

    // A: the rotation survived, so the old token is a reuse; the family is revoked, and with it
    // the new token, which was never presented.
    expect_refresh_refused(&server, &client, &a0, "family A: the rotated token after the crash").await;
    expect_refresh_refused(&server, &client, &a1, "family A: revoked by the reuse").await;
    assert!(!client_sees_active(&server, &client, &a1).await, "family A's newest token introspects inactive");

    // B: the new token works (it was issued before the crash), and rotates again; the old one
    // is then a reuse that revokes the family, the newest token included.
    let b2 = rotate(&server, &client, &b1, "family B: the new token after the crash").await;
    expect_refresh_refused(&server, &client, &b0, "family B: the rotated token after the crash").await;
    expect_refresh_refused(&server, &client, &b2, "family B: revoked by the reuse").await;

    // The revocations the reuses made survive a crash of their own.
    crash(&mut server).await;
    for (token, what) in [(&a1, "family A"), (&b2, "family B")] {
        expect_refresh_refused(&server, &client, token, &format!("{what} after a second crash")).await;
        assert!(!client_sees_active(&server, &client, token).await, "{what} introspects inactive");
    }
    // A family that saw no reuse is untouched by all of it.
    let (_, c0) = tokens(&server, &client, "alice").await;
    crash(&mut server).await;
    rotate(&server, &client, &c0, "an untouched family after a crash").await;
    server.assert_alive();
}

#[tokio::test]
async fn a_family_revoked_through_rfc7009_stays_revoked_after_a_crash() {
    let Fixture { mut server, .. } = fixture().await;
    let client = rp(&server, json!({})).await;
    let (_, r0) = tokens(&server, &client, "alice").await;
    let r1 = rotate(&server, &client, &r0, "rotate once").await;
    let (_, kept) = tokens(&server, &client, "alice").await;
    assert!(client_sees_active(&server, &client, &r1).await);
    server.revoke(TENANT, &client.id, &client.secret, &r1).await.expect_status(200, "revoke");
    // The last request is the revocation.
    crash(&mut server).await;

    for (token, what) in [(&r1, "the revoked token"), (&r0, "its rotated predecessor")] {
        assert!(!client_sees_active(&server, &client, token).await, "{what} introspects inactive");
        expect_refresh_refused(&server, &client, token, what).await;
    }
    // Revoking it again is a no-op (RFC 7009 2.2), and another family is untouched.
    server.revoke(TENANT, &client.id, &client.secret, &r1).await.expect_status(200, "revoke again");
    assert!(client_sees_active(&server, &client, &kept).await, "another family");
    rotate(&server, &client, &kept, "another family refreshes").await;
    server.assert_alive();
}

/// Signs a fresh browser in for `client`; returns its session cookie and an ID token of the
/// session.
async fn signed_in_session(server: &TestServer, client: &Client) -> (String, String) {
    let mut browser = EndUser::new(server, TENANT);
    let code = browser.pkce_code(client, SCOPE, "alice", PASSWORD).await;
    let reply = server.exchange(client, &code.code, Some(&code.verifier)).await;
    reply.expect_status(200, "code exchange");
    let id_token = reply.json["id_token"].as_str().expect("id_token").to_owned();
    let cookie = browser.jar.get(common::SESSION_COOKIE).expect("a session cookie").clone();
    (cookie, id_token)
}

#[tokio::test]
async fn a_logout_survives_a_crash() {
    let Fixture { mut server, .. } = fixture().await;
    let client = rp(&server, json!({})).await;
    let (kept, _) = signed_in_session(&server, &client).await;

    // RP-initiated logout with an ID token hint: the redirect back, the cookie expired.
    let (hinted, id_token) = signed_in_session(&server, &client).await;
    let mut browser = EndUser::new(&server, TENANT);
    browser.jar.insert(common::SESSION_COOKIE.into(), hinted.clone());
    let query = form_body(&[("id_token_hint", &id_token), ("post_logout_redirect_uri", BYE), ("state", "s")]);
    let reply = browser.get(&format!("logout?{query}")).await;
    assert_eq!(reply.status.as_u16(), 303, "{}", reply.text);
    assert_eq!(reply.header("location"), Some(format!("{BYE}?state=s").as_str()));
    assert!(!browser.has_session(), "the cookie is expired");

    // The logout page, confirmed: the last request before the crash.
    let (confirmed, _) = signed_in_session(&server, &client).await;
    let mut browser = EndUser::new(&server, TENANT);
    browser.jar.insert(common::SESSION_COOKIE.into(), confirmed.clone());
    let page = browser.get("logout").await;
    common::expect_page(&page, 200, "the logout confirmation");
    let csrf = hidden_input(&page.text, "csrf");
    let reply = browser.post("logout", &[("csrf", &csrf), ("confirm", "yes")]).await;
    common::expect_page(&reply, 200, "signed out");
    assert!(!browser.has_session(), "the cookie is expired");
    crash(&mut server).await;

    // The ended sessions stay ended: their cookies no longer sign in silently...
    for (cookie, what) in [(&hinted, "RP-initiated logout"), (&confirmed, "the logout page")] {
        let p = silent_sign_in(&server, &client, cookie).await;
        assert_eq!(p.get("error").map(String::as_str), Some("login_required"), "{what}: {p:?}");
        assert!(!p.contains_key("code"), "{what}: {p:?}");
        let mut browser = EndUser::new(&server, TENANT);
        browser.jar.insert(common::SESSION_COOKIE.into(), cookie.clone());
        let page = browser.authorize(&code_request(&client.id, CB, &[])).await;
        assert!(is_login_page(&page), "{what}: the login page: {}", page.text);
    }
    // ...while a session that was not ended still does (the check above is not vacuous).
    let p = silent_sign_in(&server, &client, &kept).await;
    assert!(p.contains_key("code") && !p.contains_key("error"), "a session kept across the crash: {p:?}");
    server.assert_alive();
}

#[tokio::test]
async fn a_user_deletion_survives_a_crash() {
    let Fixture { mut server, rs } = fixture().await;
    let jwt_client = rp(&server, json!({})).await;
    let opaque_client = rp(&server, json!({ "access_token_format": "opaque" })).await;
    let doomed = server.create_user(TENANT, json!({ "username": "mallory", "password": PASSWORD })).await;
    let doomed_id = doomed["id"].as_str().expect("user id").to_owned();

    let mut grants = Vec::new();
    for client in [&jwt_client, &opaque_client] {
        grants.push((client, tokens(&server, client, "mallory").await));
    }
    // Sessions of both users; alice is the bystander whose grants the deletion leaves alone.
    let (alice_cookie, _) = signed_in_session(&server, &jwt_client).await;
    let mallory_cookie = {
        let mut browser = EndUser::new(&server, TENANT);
        browser.pkce_code(&jwt_client, SCOPE, "mallory", PASSWORD).await;
        browser.jar.get(common::SESSION_COOKIE).expect("a session cookie").clone()
    };
    let (alice_access, alice_refresh) = tokens(&server, &jwt_client, "alice").await;

    let path = format!("/tenants/{TENANT}/users/{doomed_id}");
    server.admin(Method::DELETE, &path, None).await.expect_status(204, "delete the user");
    // The last request is the deletion.
    crash(&mut server).await;

    server.admin(Method::GET, &path, None).await.expect_api_error(404, None, "the deleted user");
    for (client, (access, refresh)) in &grants {
        assert!(!rs_sees_active(&server, &rs, access).await, "a deleted user's access token");
        server.userinfo(TENANT, access).await.expect_bearer_error(
            401,
            "invalid_token",
            "userinfo refuses it",
        );
        assert!(!client_sees_active(&server, client, refresh).await, "a deleted user's refresh token");
        expect_refresh_refused(&server, client, refresh, "a deleted user's refresh token").await;
    }
    let p = silent_sign_in(&server, &jwt_client, &mallory_cookie).await;
    assert_eq!(p.get("error").map(String::as_str), Some("login_required"), "a deleted user's session: {p:?}");
    // The login fails as for any unknown user.
    let mut browser = EndUser::new(&server, TENANT);
    let page = browser.authorize(&code_request(&jwt_client.id, CB, &[])).await;
    common::expect_login_page(&page, "login page");
    let reply = browser.login(&page, "mallory", PASSWORD).await;
    common::expect_page(&reply, 200, "a deleted user's login");
    assert!(reply.text.contains("The username or password is incorrect."), "{}", reply.text);
    assert!(!browser.has_session(), "no session for a deleted user");

    // The bystander keeps everything.
    assert!(rs_sees_active(&server, &rs, &alice_access).await, "another user's access token");
    rotate(&server, &jwt_client, &alice_refresh, "another user's refresh token").await;
    let p = silent_sign_in(&server, &jwt_client, &alice_cookie).await;
    assert!(p.contains_key("code"), "another user's session: {p:?}");
    server.assert_alive();
}

#[tokio::test]
async fn a_client_secret_rotation_survives_a_crash() {
    let Fixture { mut server, .. } = fixture().await;
    let (cc_id, old_cc_secret) = server.cc_client(TENANT, "read").await;
    let code_client = rp(&server, json!({})).await;
    let (_, refresh) = tokens(&server, &code_client, "alice").await;

    let mut new_secrets = Vec::new();
    for id in [&cc_id, &code_client.id] {
        let reply = server.admin(Method::POST, &format!("/tenants/{TENANT}/clients/{id}/secret"), None).await;
        reply.expect_status(200, "rotate the secret");
        new_secrets.push(reply.json["client_secret"].as_str().expect("client_secret").to_owned());
    }
    // The last request is a rotation.
    crash(&mut server).await;

    let cc = [("grant_type", "client_credentials")];
    server.token_basic(TENANT, &cc_id, &old_cc_secret, &cc).await.expect_oauth_error(
        401,
        "invalid_client",
        "the old secret after the crash",
    );
    server.token_basic(TENANT, &cc_id, &new_secrets[0], &cc).await.expect_status(200, "the new secret");
    // A code-flow client's grants outlive its secret: the refresh token works with the new one.
    let old_client = code_client.clone();
    let new_client = Client { secret: new_secrets[1].clone(), ..code_client };
    server.refresh(&old_client, &refresh, None).await.expect_oauth_error(
        401,
        "invalid_client",
        "a refresh with the old secret",
    );
    rotate(&server, &new_client, &refresh, "a refresh with the new secret").await;
    server.assert_alive();
}
