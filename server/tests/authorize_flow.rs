//! The browser-facing authorization flow without a browser: `/authorize`, the login and
//! consent forms, SSO sessions and RP-Initiated Logout, driven over HTTP with redirects off and
//! cookies kept by hand (the harness's [`EndUser`] plays the browser), against the real binary.

mod common;

use common::{
    Backend, Client, EndUser, Options, Reply, TestServer, form_body, redirect_params, set_cookie,
    set_cookies, with_extra,
};
use reqwest::Method;
use serde_json::{Value, json};

const TENANT: &str = "acme";
const CB: &str = "https://app.example/cb";
const BYE: &str = "https://app.example/bye";
const PASSWORD: &str = "correct horse battery";

/// A server with tenant `acme` (display name "Acme Corp") and user `alice`. The per-address
/// login limit is raised: every test request comes from 127.0.0.1.
async fn setup() -> TestServer {
    setup_with(vec!["--login-attempts-per-ip-per-minute".into(), "1000".into()]).await
}

async fn setup_with(extra_args: Vec<String>) -> TestServer {
    let mut options = Options::new(Backend::Software);
    options.extra_args = extra_args;
    let server = TestServer::start_with(options).await;
    let reply = server
        .admin(Method::POST, "/tenants", Some(json!({ "id": TENANT, "display_name": "Acme Corp" })))
        .await;
    reply.expect_status(201, "create tenant");
    let user = json!({ "username": "alice", "password": PASSWORD, "email": "alice@example.com" });
    server.create_user(TENANT, user).await;
    server
}

/// A confidential code-flow client; returns its id and secret.
async fn client(server: &TestServer, first_party: bool, extra: Value) -> (String, String) {
    let body = json!({
        "client_name": "Photo <App>",
        "grant_types": ["authorization_code"],
        "redirect_uris": [CB],
        "post_logout_redirect_uris": [BYE],
        "scope": "openid profile email",
        "first_party": first_party,
    });
    server.create_client(TENANT, with_extra(body, extra)).await
}

/// Signs `agent` in as `alice` through the login page of a fresh request; returns the answer to
/// the login.
async fn sign_in(agent: &mut EndUser<'_>, client_id: &str) -> Reply {
    agent.sign_in(&common::code_request(client_id, CB, &[]), "alice", PASSWORD).await
}

#[tokio::test]
async fn untrusted_client_or_redirect_uri_gets_a_page_never_a_redirect() {
    let server = setup().await;
    let (id, _) = client(&server, true, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);

    let reply = agent.authorize(&common::code_request("nope", CB, &[])).await;
    common::expect_page(&reply, 400, "unknown client");
    assert!(reply.text.contains("unknown client"), "{}", reply.text);

    let reply = agent
        .authorize(&[
            ("client_id", &id),
            ("response_type", "code"),
            ("redirect_uri", "https://evil.example/cb"),
        ])
        .await;
    common::expect_page(&reply, 400, "unregistered redirect_uri");
    assert!(!reply.text.contains("evil.example"), "{}", reply.text);

    let reply = server.send(Method::GET, "/t/nope/authorize?client_id=x", &[], None).await;
    common::expect_page(&reply, 404, "unknown tenant");
}

#[tokio::test]
async fn bad_parameters_of_a_trusted_request_go_back_to_the_client() {
    let server = setup().await;
    let (id, _) = client(&server, true, json!({})).await;
    let implicit_only = json!({ "grant_types": ["implicit"], "response_types": ["id_token"] });
    let (implicit, _) = client(&server, true, implicit_only).await;
    let mut agent = EndUser::new(&server, TENANT);
    let issuer = server.issuer(TENANT);

    let reply = agent
        .authorize(&[("client_id", &id), ("response_type", "token"), ("redirect_uri", CB), ("state", "s1")])
        .await;
    let p = redirect_params(&reply, CB, "redirect to the client");
    assert_eq!(p["error"], "unsupported_response_type");
    assert_eq!((p["state"].as_str(), p["iss"].as_str()), ("s1", issuer.as_str()));

    let reply = agent
        .authorize(&[
            ("client_id", &implicit),
            ("response_type", "id_token"),
            ("redirect_uri", CB),
            ("scope", "openid"),
            ("state", "s2"),
        ])
        .await;
    let p = redirect_params(&reply, CB, "redirect to the client");
    assert_eq!(p["error"], "invalid_request", "nonce is required for id_token: {p:?}");
    assert_eq!(p["state"], "s2");
    assert!(reply.header("location").is_some_and(|l| l.starts_with(&format!("{CB}#"))), "fragment");
}

#[tokio::test]
async fn login_page_has_csrf_cookie_hidden_fields_and_the_hint() {
    let server = setup().await;
    let (id, _) = client(&server, true, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);

    let reply = agent.authorize(&common::code_request(&id, CB, &[("login_hint", "al\"ice")])).await;
    common::expect_page(&reply, 200, "login page");
    let cookies = set_cookies(&reply);
    let csrf = set_cookie(&cookies, "tessera_csrf").expect("CSRF cookie");
    assert!(
        csrf.has("HttpOnly") && csrf.has("SameSite=Strict") && csrf.has(&format!("Path=/t/{TENANT}/")),
        "{csrf:?}"
    );
    assert_eq!(csrf.value.len(), 43, "a 256-bit pre-session id");
    let token = common::hidden_input(&reply.text, "csrf");
    assert!(token.len() == 43 && token != csrf.value, "an HMAC of the pre-session, not a copy: {token}");
    assert!(!common::hidden_input(&reply.text, "request").is_empty());
    assert!(reply.text.contains("id=\"username\"") && reply.text.contains("id=\"login\""));
    assert!(reply.text.contains("value=\"al&#34;ice\""), "login_hint prefilled, escaped: {}", reply.text);
    assert!(reply.text.contains("Photo &#60;App&#62;") && reply.text.contains("Acme Corp"));
    let csp = reply.header("content-security-policy").expect("csp");
    assert!(csp.contains("form-action 'self' https://app.example;"), "{csp}");
    assert!(set_cookie(&cookies, "tessera_session").is_none());
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let server = setup().await;
    let (id, _) = client(&server, true, json!({})).await;
    let reply =
        EndUser::new(&server, TENANT).authorize(&common::code_request(&id, CB, &[("prompt", "none")])).await;
    let p = redirect_params(&reply, CB, "redirect to the client");
    assert_eq!(p["error"], "login_required");
    assert_eq!(p["state"], "st-1");
    assert_eq!(p["iss"], server.issuer(TENANT));
}

#[tokio::test]
async fn wrong_password_or_user_says_the_same_and_sets_no_session() {
    let server = setup().await;
    let (id, _) = client(&server, true, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);
    let page = agent.authorize(&common::code_request(&id, CB, &[])).await;
    for (user, password) in [("alice", "wrong password"), ("nobody", PASSWORD)] {
        let reply = agent.login(&page, user, password).await;
        common::expect_page(&reply, 200, "wrong login");
        assert!(reply.text.contains("The username or password is incorrect."), "{}", reply.text);
        assert!(reply.text.contains("role=\"alert\""));
        assert!(set_cookie(&set_cookies(&reply), "tessera_session").is_none(), "{user}");
        assert!(!agent.has_session());
    }
}

#[tokio::test]
async fn a_form_with_the_wrong_csrf_token_is_refused() {
    let server = setup().await;
    let (id, _) = client(&server, true, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);
    let page = agent.authorize(&common::code_request(&id, CB, &[])).await;
    let request = common::hidden_input(&page.text, "request");
    let forged = "A".repeat(43);
    let reply = agent
        .post(
            "login",
            &[("csrf", &forged), ("request", &request), ("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    common::expect_page(&reply, 400, "wrong CSRF token");
    assert!(reply.text.contains("The form expired; go back and try again."), "{}", reply.text);
    assert!(!agent.has_session());
    // Without the cookie at all (a cross-site post), the same.
    let mut stranger = EndUser::new(&server, TENANT);
    let reply = stranger.login(&page, "alice", PASSWORD).await;
    common::expect_page(&reply, 400, "no CSRF cookie");
}

#[tokio::test]
async fn the_eleventh_attempt_in_a_minute_is_limited_even_with_the_right_password() {
    let server = setup().await;
    let (id, _) = client(&server, true, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);
    let page = agent.authorize(&common::code_request(&id, CB, &[])).await;
    for i in 0..10 {
        // The username's case does not open a new budget.
        let name = if i % 2 == 0 { "alice" } else { "ALICE" };
        let reply = agent.login(&page, name, "wrong password").await;
        common::expect_page(&reply, 200, &format!("attempt {}", i + 1));
    }
    let reply = agent.login(&page, "alice", PASSWORD).await;
    common::expect_page(&reply, 429, "11th attempt");
    assert!(reply.text.contains("Too many sign-in attempts. Wait a minute and try again."), "{}", reply.text);
    assert!(!agent.has_session());
}

#[tokio::test]
async fn per_address_limit() {
    let server = setup_with(vec!["--login-attempts-per-ip-per-minute".into(), "3".into()]).await;
    let (id, _) = client(&server, true, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);
    let page = agent.authorize(&common::code_request(&id, CB, &[])).await;
    for user in ["u1", "u2", "u3"] {
        common::expect_page(&agent.login(&page, user, "x").await, 200, user);
    }
    common::expect_page(&agent.login(&page, "alice", PASSWORD).await, 429, "4th attempt from the address");
}

#[tokio::test]
async fn first_party_login_sets_the_session_and_returns_a_code() {
    let server = setup().await;
    let (id, _) = client(&server, true, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);
    let reply = sign_in(&mut agent, &id).await;
    let cookies = set_cookies(&reply);
    let session = set_cookie(&cookies, "tessera_session").expect("session cookie");
    assert_eq!(session.value.len(), 43, "256-bit value");
    for attr in ["HttpOnly", "SameSite=Lax", &format!("Path=/t/{TENANT}/"), "Max-Age=36000"] {
        assert!(session.has(attr), "{attr} in {session:?}");
    }
    assert!(!session.has("Secure"), "http public URL");
    let p = redirect_params(&reply, CB, "redirect to the client");
    assert!(p.get("code").is_some_and(|c| !c.is_empty()), "{p:?}");
    assert_eq!((p["state"].as_str(), p["iss"].as_str()), ("st-1", server.issuer(TENANT).as_str()));

    // Signing in by e-mail address works too, and always issues a new cookie value.
    let page = agent.authorize(&common::code_request(&id, CB, &[("prompt", "login")])).await;
    assert!(common::is_login_page(&page));
    let reply = agent.login(&page, "Alice@Example.com", PASSWORD).await;
    redirect_params(&reply, CB, "redirect to the client");
    let again = set_cookies(&reply);
    let new = set_cookie(&again, "tessera_session").expect("new session cookie");
    assert_ne!(new.value, session.value, "no session fixation");
}

#[tokio::test]
async fn consent_is_asked_once_and_deny_is_access_denied() {
    let server = setup().await;
    let (id, _) = client(&server, false, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);
    let page = sign_in(&mut agent, &id).await;
    common::expect_page(&page, 200, "consent page");
    assert!(common::is_consent_page(&page) && page.text.contains("id=\"deny\""), "{}", page.text);
    assert!(page.text.contains("See your profile"), "plain-language scopes: {}", page.text);
    assert!(agent.has_session());

    let p = redirect_params(&agent.consent(&page, "deny").await, CB, "redirect to the client");
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["state"], "st-1");

    // Denied consent is not remembered: the next request asks again, without a login.
    let page = agent.authorize(&common::code_request(&id, CB, &[])).await;
    assert!(common::is_consent_page(&page), "{}", page.text);
    let p = redirect_params(&agent.consent(&page, "allow").await, CB, "redirect to the client");
    assert!(p.contains_key("code"), "{p:?}");

    // SSO and remembered consent: straight to the code.
    let p = redirect_params(
        &agent.authorize(&common::code_request(&id, CB, &[])).await,
        CB,
        "redirect to the client",
    );
    assert!(p.contains_key("code"), "{p:?}");
    // A narrower request is covered; a wider one asks again.
    let p = redirect_params(
        &agent.authorize(&common::code_request(&id, CB, &[("scope", "openid")])).await,
        CB,
        "redirect to the client",
    );
    assert!(p.contains_key("code"), "{p:?}");
    let page = agent.authorize(&common::code_request(&id, CB, &[("scope", "openid email")])).await;
    assert!(common::is_consent_page(&page), "{}", page.text);
    let page = agent
        .authorize(&common::code_request(&id, CB, &[("scope", "openid email"), ("prompt", "none")]))
        .await;
    assert_eq!(redirect_params(&page, CB, "redirect to the client")["error"], "consent_required");
}

#[tokio::test]
async fn prompt_and_max_age_with_a_session() {
    let server = setup().await;
    let (id, _) = client(&server, false, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);
    let page = sign_in(&mut agent, &id).await;
    redirect_params(&agent.consent(&page, "allow").await, CB, "redirect to the client");

    let p = redirect_params(
        &agent.authorize(&common::code_request(&id, CB, &[("prompt", "none")])).await,
        CB,
        "redirect to the client",
    );
    assert!(p.contains_key("code"), "prompt=none with session and consent: {p:?}");

    let page = agent.authorize(&common::code_request(&id, CB, &[("prompt", "consent")])).await;
    assert!(common::is_consent_page(&page), "prompt=consent: {}", page.text);

    for extra in [("prompt", "login"), ("max_age", "0")] {
        let page = agent.authorize(&common::code_request(&id, CB, &[extra])).await;
        assert!(common::is_login_page(&page), "{extra:?}: {}", page.text);
        // A fresh login satisfies it; the flow goes on instead of asking again.
        let p = redirect_params(&agent.login(&page, "alice", PASSWORD).await, CB, "redirect to the client");
        assert!(p.contains_key("code"), "{extra:?}: {p:?}");
    }
    let p = redirect_params(
        &agent.authorize(&common::code_request(&id, CB, &[("max_age", "3600")])).await,
        CB,
        "redirect to the client",
    );
    assert!(p.contains_key("code"), "{p:?}");
}

#[tokio::test]
async fn form_post_response_mode_renders_an_escaped_auto_submitting_form() {
    let server = setup().await;
    let (id, _) = client(&server, true, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);
    let page = agent
        .authorize(&common::code_request(&id, CB, &[("response_mode", "form_post"), ("state", "<x>")]))
        .await;
    let reply = agent.login(&page, "alice", PASSWORD).await;
    common::expect_page(&reply, 200, "form_post");
    assert!(reply.text.contains(&format!("action=\"{CB}\"")), "{}", reply.text);
    assert!(reply.text.contains("name=\"code\""), "{}", reply.text);
    assert!(reply.text.contains("value=\"&#60;x&#62;\""), "state escaped: {}", reply.text);
    let csp = reply.header("content-security-policy").expect("csp");
    assert!(
        csp.contains("form-action 'self' https://app.example;") && csp.contains("script-src 'nonce-"),
        "{csp}"
    );
}

/// An ID token for `alice` from the code flow (the code exchanged at the token endpoint).
async fn id_token(server: &TestServer, agent: &mut EndUser<'_>, id: &str, secret: &str) -> String {
    let p = redirect_params(
        &agent.authorize(&common::code_request(id, CB, &[("nonce", "n")])).await,
        CB,
        "redirect to the client",
    );
    let client = Client::new(TENANT, (id.to_owned(), secret.to_owned()), CB);
    let reply = server.exchange(&client, &p["code"], None).await;
    reply.expect_status(200, "code exchange");
    reply.json["id_token"].as_str().expect("id_token").to_owned()
}

#[tokio::test]
async fn logout_with_a_valid_hint_ends_the_session_and_returns_with_state() {
    let server = setup().await;
    let (id, secret) = client(&server, true, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);
    redirect_params(&sign_in(&mut agent, &id).await, CB, "redirect to the client");
    let token = id_token(&server, &mut agent, &id, &secret).await;
    let old_cookie = agent.jar["tessera_session"].clone();

    // An unregistered return address: a page, never a redirect, and the session stays.
    let path = format!(
        "/t/{TENANT}/logout?{}",
        form_body(&[
            ("id_token_hint", &token),
            ("post_logout_redirect_uri", "https://evil.example/"),
            ("state", "z")
        ])
    );
    let reply = agent.send(Method::GET, &path, None, None).await;
    common::expect_page(&reply, 400, "unregistered post_logout_redirect_uri");
    assert!(agent.has_session());
    // Neither without a client to check it against.
    let path = format!("/t/{TENANT}/logout?{}", form_body(&[("post_logout_redirect_uri", BYE)]));
    common::expect_page(&agent.send(Method::GET, &path, None, None).await, 400, "no client");
    // A forged hint.
    let forged = format!("{}x", &token[..token.len() - 2]);
    let path = format!("/t/{TENANT}/logout?{}", form_body(&[("id_token_hint", &forged)]));
    common::expect_page(&agent.send(Method::GET, &path, None, None).await, 400, "forged hint");
    assert!(agent.has_session());

    let path = format!(
        "/t/{TENANT}/logout?{}",
        form_body(&[("id_token_hint", &token), ("post_logout_redirect_uri", BYE), ("state", "a b")])
    );
    let reply = agent.send(Method::GET, &path, None, None).await;
    assert_eq!(reply.status.as_u16(), 303, "{}", reply.text);
    assert_eq!(reply.header("location"), Some(format!("{BYE}?state=a%20b").as_str()));
    let expired = set_cookies(&reply);
    let cookie = set_cookie(&expired, "tessera_session").expect("cookie expired");
    assert!(cookie.has("Max-Age=0") && cookie.value.is_empty(), "{cookie:?}");

    // The session record is gone: even the old cookie value no longer signs in.
    assert!(common::is_login_page(&agent.authorize(&common::code_request(&id, CB, &[])).await));
    let mut replay = EndUser::new(&server, TENANT);
    replay.jar.insert("tessera_session".into(), old_cookie);
    assert!(common::is_login_page(&replay.authorize(&common::code_request(&id, CB, &[])).await));
}

#[tokio::test]
async fn logout_without_a_hint_asks_first() {
    let server = setup().await;
    let (id, _) = client(&server, true, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);
    redirect_params(&sign_in(&mut agent, &id).await, CB, "redirect to the client");
    let old_cookie = agent.jar["tessera_session"].clone();

    let path = format!(
        "/t/{TENANT}/logout?{}",
        form_body(&[("client_id", &id), ("post_logout_redirect_uri", BYE), ("state", "q")])
    );
    let page = agent.send(Method::GET, &path, None, None).await;
    common::expect_page(&page, 200, "confirmation");
    assert!(page.text.contains("Sign out?") && page.text.contains("id=\"confirm-logout\""), "{}", page.text);
    assert!(agent.has_session(), "nothing ended before the confirmation");

    // The confirmation without the CSRF token is refused.
    let reply = agent.post("logout", &[("confirm", "yes"), ("client_id", &id)]).await;
    common::expect_page(&reply, 400, "confirmation without CSRF");
    assert!(agent.has_session());

    let csrf = common::hidden_input(&page.text, "csrf");
    let fields = [
        ("csrf", csrf.as_str()),
        ("confirm", "yes"),
        ("client_id", &id),
        ("post_logout_redirect_uri", BYE),
        ("state", "q"),
    ];
    let reply = agent.post("logout", &fields).await;
    assert_eq!(reply.header("location"), Some(format!("{BYE}?state=q").as_str()), "{}", reply.text);
    assert!(!agent.has_session());

    // The old cookie value is dead on the server too.
    let mut replay = EndUser::new(&server, TENANT);
    replay.jar.insert("tessera_session".into(), old_cookie);
    let page = replay.authorize(&common::code_request(&id, CB, &[])).await;
    assert!(common::is_login_page(&page), "{}", page.text);

    // Without a return address: the signed-out page.
    redirect_params(&sign_in(&mut agent, &id).await, CB, "redirect to the client");
    let page = agent.send(Method::GET, &format!("/t/{TENANT}/logout"), None, None).await;
    let csrf = common::hidden_input(&page.text, "csrf");
    let reply = agent.post("logout", &[("csrf", &csrf), ("confirm", "yes")]).await;
    common::expect_page(&reply, 200, "signed out");
    assert!(reply.text.contains("You have signed out"), "{}", reply.text);
}

#[tokio::test]
async fn a_restart_keeps_the_session_and_consent() {
    let mut server = setup().await;
    let (id, _) = client(&server, false, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);
    let page = sign_in(&mut agent, &id).await;
    redirect_params(&agent.consent(&page, "allow").await, CB, "redirect to the client");
    let jar = agent.jar.clone();

    server.kill9();
    server.restart().await;
    let mut agent = EndUser::new(&server, TENANT);
    agent.jar = jar;
    let p = redirect_params(
        &agent.authorize(&common::code_request(&id, CB, &[("prompt", "none")])).await,
        CB,
        "redirect to the client",
    );
    assert!(p.contains_key("code"), "session and consent survive a kill -9: {p:?}");
}

#[tokio::test]
async fn a_deleted_user_has_no_session() {
    let server = setup().await;
    let (id, _) = client(&server, true, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);
    redirect_params(&sign_in(&mut agent, &id).await, CB, "redirect to the client");
    let users = server.admin(Method::GET, &format!("/tenants/{TENANT}/users"), None).await;
    let user_id = users.json["users"][0]["id"].as_str().expect("user id").to_owned();
    server
        .admin(Method::DELETE, &format!("/tenants/{TENANT}/users/{user_id}"), None)
        .await
        .expect_status(204, "delete");
    let page = agent.authorize(&common::code_request(&id, CB, &[])).await;
    assert!(common::is_login_page(&page), "{}", page.text);
}

#[tokio::test]
async fn cookies_are_secure_behind_an_https_public_url_and_live_as_configured() {
    let mut options = Options::new(Backend::Software);
    options.public_url = Some("https://id.example/sso".into());
    options.extra_args = vec!["--session-ttl-secs".into(), "120".into()];
    let server = TestServer::start_with(options).await;
    server
        .admin(Method::POST, "/tenants", Some(json!({ "id": TENANT, "display_name": "Acme Corp" })))
        .await
        .expect_status(201, "create tenant");
    let user = json!({ "username": "alice", "password": PASSWORD });
    server.create_user(TENANT, user).await;
    let (id, _) = client(&server, true, json!({})).await;
    let mut agent = EndUser::new(&server, TENANT);
    let page = agent.authorize(&common::code_request(&id, CB, &[])).await;
    let cookies = set_cookies(&page);
    // `__Host-` cookies: `Path=/` even under a public URL with a path, the tenant in the name
    // (more in page_defences.rs).
    let csrf = set_cookie(&cookies, &agent.csrf_cookie()).expect("CSRF cookie");
    assert!(csrf.has("Secure") && csrf.has("Path=/"), "{csrf:?}");
    let reply = agent.login(&page, "alice", PASSWORD).await;
    let cookies = set_cookies(&reply);
    let session = set_cookie(&cookies, &agent.session_cookie()).expect("session cookie");
    assert_eq!(session.name, format!("__Host-tessera-session-{TENANT}"));
    assert!(session.has("Secure") && session.has("Max-Age=120"), "{session:?}");
    assert!(session.has("Path=/"), "{session:?}");
    assert_eq!(
        redirect_params(&reply, CB, "redirect to the client")["iss"],
        format!("https://id.example/sso/t/{TENANT}")
    );
}
