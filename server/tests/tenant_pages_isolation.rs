//! Tenant isolation of the end-user pages (issue 8, item 11, in part): nothing presents one
//! tenant's session or CSRF cookie, or relies on its consent, at another tenant's pages. Two
//! tenants with the same username, the same password and the same client ids (and redirect
//! URIs), so that only the tenant tells them apart. Each check runs behind an http public URL
//! (both tenants' cookies share their names, scoped by path, so a browser that ignores paths,
//! as the harness's does, presents one tenant's cookies at the other) and behind an https one
//! (`__Host-` names holding the tenant; the tests then also copy one tenant's value under the
//! other's name).

mod common;

use common::{Backend, EndUser, Options, TestServer, expect_page, redirect_params};
use serde_json::json;

const A: &str = "alpha";
const B: &str = "beta";
const CB: &str = "https://app.example/cb";
const PASSWORD: &str = "correct horse battery";
/// First party: no consent asked.
const APP: &str = "app";
/// Third party: consent asked.
const TP: &str = "tp";

/// Tenants `alpha` and `beta`, each with user `alice` (same password) and clients `app` and
/// `tp` (same ids, same redirect URI).
async fn setup(https: bool) -> TestServer {
    let mut options = Options::many_logins(Backend::Software);
    if https {
        options.public_url = Some("https://id.example".into());
    }
    let server = TestServer::start_with(options).await;
    for tenant in [A, B] {
        server.create_tenant(tenant, serde_json::Value::Null).await;
        server.create_user(tenant, json!({ "username": "alice", "password": PASSWORD })).await;
        for (id, first_party) in [(APP, true), (TP, false)] {
            let client = json!({
                "client_id": id,
                "grant_types": ["authorization_code"],
                "redirect_uris": [CB],
                "scope": "openid profile",
                "first_party": first_party,
            });
            server.create_client(tenant, client).await;
        }
    }
    server
}

/// The headers of a POST as a browser sends our own forms (see `web/origin.rs`).
const OWN_FORM: [(&str, &str); 2] = [("origin", "null"), ("sec-fetch-site", "same-origin")];

/// A browser signed in at `tenant` as alice through `client`, which must not ask for consent.
async fn signed_in<'s>(server: &'s TestServer, tenant: &str) -> EndUser<'s> {
    let mut browser = EndUser::new(server, tenant);
    let reply = browser.sign_in(&common::code_request(APP, CB, &[]), "alice", PASSWORD).await;
    redirect_params(&reply, CB, "signed in");
    browser
}

async fn a_session_of_one_tenant_is_no_session_at_another(https: bool) {
    let server = setup(https).await;
    let at_a = signed_in(&server, A).await;
    let a_session = at_a.jar[&at_a.session_cookie()].clone();

    // A browser at B holding everything A set, and A's session value under B's name too.
    let mut at_b = EndUser::new(&server, B);
    at_b.jar = at_a.jar.clone();
    at_b.jar.insert(at_b.session_cookie(), a_session.clone());

    // /authorize: no session at B.
    let reply = at_b.authorize(&common::code_request(APP, CB, &[("prompt", "none")])).await;
    assert_eq!(redirect_params(&reply, CB, "prompt=none at B")["error"], "login_required");
    let page = at_b.authorize(&common::code_request(APP, CB, &[])).await;
    common::expect_login_page(&page, "authorize at B");

    // /login: signing in at B starts a new session of B's; the login deletes the browser's
    // previous session (here A's value) only among B's, so A's session lives on.
    let reply = at_b.login(&page, "alice", PASSWORD).await;
    redirect_params(&reply, CB, "login at B");
    assert_ne!(at_b.jar[&at_b.session_cookie()], a_session, "a new session value of B's");
    let mut at_a = at_a;
    let reply = at_a.authorize(&common::code_request(APP, CB, &[("prompt", "none")])).await;
    assert!(redirect_params(&reply, CB, "A after B's login").contains_key("code"), "A's session lives on");

    // /consent: with a valid CSRF token of B (from B's own consent page, in a browser
    // signed in at B) but A's session cookie in place of B's, the consent form does not count
    // as signed in: it asks for a login.
    let mut real_b = signed_in(&server, B).await;
    let consent = real_b.authorize(&common::code_request(TP, CB, &[])).await;
    assert!(common::is_consent_page(&consent), "{}", consent.text);
    let b_session = real_b.session_cookie();
    real_b.jar.insert(b_session.clone(), a_session.clone());
    let allow = [
        ("csrf", common::hidden_input(&consent.text, "csrf")),
        ("request", common::hidden_input(&consent.text, "request")),
        ("decision", "allow".to_owned()),
    ];
    let allow: Vec<(&str, &str)> = allow.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let reply = real_b.post_with("consent", &allow, &OWN_FORM).await;
    common::expect_login_page(&reply, "consent at B with A's session");

    // /logout: B's confirmation with A's session cookie signs nothing out at A.
    at_b.jar.insert(at_b.session_cookie(), a_session.clone());
    let confirm = at_b.get("logout").await;
    expect_page(&confirm, 200, "logout confirmation at B");
    let csrf = common::hidden_input(&confirm.text, "csrf");
    let reply = at_b.post_with("logout", &[("confirm", "yes"), ("csrf", &csrf)], &OWN_FORM).await;
    expect_page(&reply, 200, "signed out at B");
    let reply = at_a.authorize(&common::code_request(APP, CB, &[("prompt", "none")])).await;
    assert!(
        redirect_params(&reply, CB, "A's session").contains_key("code"),
        "A's session survives B's logout"
    );

    // Where B's session was, A's value is still nothing at B.
    let reply = real_b.authorize(&common::code_request(APP, CB, &[("prompt", "none")])).await;
    assert_eq!(redirect_params(&reply, CB, "A's value under B's name")["error"], "login_required");
}

async fn a_csrf_token_of_one_tenant_does_not_pass_at_another(https: bool) {
    let server = setup(https).await;
    // A's login page: A's pre-session cookie and token, and a request field that is valid at B
    // too (same client id and redirect URI there).
    let mut at_a = EndUser::new(&server, A);
    let page = at_a.authorize(&common::code_request(APP, CB, &[])).await;
    common::expect_login_page(&page, "login page at A");
    let pre_session = at_a.jar[&at_a.csrf_cookie()].clone();
    let login = common::login_form(&page, "alice", PASSWORD);
    let login = login.pairs();

    // At B, with A's pre-session under B's cookie name (in http the names are the same).
    let mut at_b = EndUser::new(&server, B);
    at_b.jar = at_a.jar.clone();
    at_b.jar.insert(at_b.csrf_cookie(), pre_session.clone());
    let reply = at_b.post_with("login", &login, &OWN_FORM).await;
    expect_page(&reply, 400, "A's CSRF token at B's login");
    assert!(reply.text.contains("The form expired"), "{}", reply.text);
    assert!(!at_b.has_session());

    // A's logout confirmation token at B's logout.
    let confirm = at_a.get("logout").await;
    let csrf = common::hidden_input(&confirm.text, "csrf");
    let reply = at_b.post_with("logout", &[("confirm", "yes"), ("csrf", &csrf)], &OWN_FORM).await;
    expect_page(&reply, 400, "A's logout token at B");

    // The same pair still works at A: the refusals were about the tenant, nothing else.
    let reply = at_a.post_with("login", &login, &OWN_FORM).await;
    redirect_params(&reply, CB, "A's token at A");
}

async fn consent_at_one_tenant_is_not_consent_at_another(https: bool) {
    let server = setup(https).await;
    let mut at_a = signed_in(&server, A).await;
    let consent = at_a.authorize(&common::code_request(TP, CB, &[])).await;
    assert!(common::is_consent_page(&consent), "{}", consent.text);
    let reply = at_a.consent(&consent, "allow").await;
    redirect_params(&reply, CB, "consent at A");
    let reply = at_a.authorize(&common::code_request(TP, CB, &[])).await;
    assert!(redirect_params(&reply, CB, "consent remembered at A").contains_key("code"));

    // The same user name and client id at B: B asks.
    let mut at_b = signed_in(&server, B).await;
    let reply = at_b.authorize(&common::code_request(TP, CB, &[])).await;
    assert!(common::is_consent_page(&reply), "B asks for its own consent: {reply:?}");
    let reply = at_b.authorize(&common::code_request(TP, CB, &[("prompt", "none")])).await;
    assert_eq!(redirect_params(&reply, CB, "prompt=none at B")["error"], "consent_required");
}

#[tokio::test]
async fn http_a_session_of_one_tenant_is_no_session_at_another() {
    a_session_of_one_tenant_is_no_session_at_another(false).await;
}

#[tokio::test]
async fn https_a_session_of_one_tenant_is_no_session_at_another() {
    a_session_of_one_tenant_is_no_session_at_another(true).await;
}

#[tokio::test]
async fn http_a_csrf_token_of_one_tenant_does_not_pass_at_another() {
    a_csrf_token_of_one_tenant_does_not_pass_at_another(false).await;
}

#[tokio::test]
async fn https_a_csrf_token_of_one_tenant_does_not_pass_at_another() {
    a_csrf_token_of_one_tenant_does_not_pass_at_another(true).await;
}

#[tokio::test]
async fn http_consent_at_one_tenant_is_not_consent_at_another() {
    consent_at_one_tenant_is_not_consent_at_another(false).await;
}

#[tokio::test]
async fn https_consent_at_one_tenant_is_not_consent_at_another() {
    consent_at_one_tenant_is_not_consent_at_another(true).await;
}
