//! The pages' defences against forged form posts (issue 8, item 5), on the real binary over
//! plain HTTP: the CSRF token is an HMAC bound to the browser's pre-session cookie (a planted
//! double-submit pair and a token of another pre-session are refused), a POST of our own forms
//! that the browser says came from another site is refused with 403 while the endpoints other
//! sites post to by design are not, and behind an https public URL the cookies are `__Host-`
//! cookies with the tenant in their name.

mod common;

use common::{
    Backend, EndUser, Options, Reply, TestServer, expect_page, form_body, redirect_params, set_cookie,
    set_cookies, with_extra,
};
use reqwest::Method;
use serde_json::json;

const TENANT: &str = "acme";
const CB: &str = "https://app.example/cb";
const PASSWORD: &str = "correct horse battery";
/// What the 403 page says; it names nothing the request carried.
const CROSS_SITE: &str = "This form was not sent from this service";

/// A server (public URL `public_url`, else its own http address) with tenant `acme`, user
/// `alice`, a first-party client and a third-party one (which asks for consent).
async fn setup(public_url: Option<&str>) -> (TestServer, String, String) {
    let mut options = Options::many_logins(Backend::Software);
    options.public_url = public_url.map(str::to_owned);
    let server = TestServer::start_with(options).await;
    server.create_tenant(TENANT, serde_json::Value::Null).await;
    server.create_user(TENANT, json!({ "username": "alice", "password": PASSWORD })).await;
    let client = |first_party: bool| {
        with_extra(
            json!({ "grant_types": ["authorization_code"], "redirect_uris": [CB], "scope": "openid profile" }),
            json!({ "first_party": first_party }),
        )
    };
    let (first, _) = server.create_client(TENANT, client(true)).await;
    let (third, _) = server.create_client(TENANT, client(false)).await;
    (server, first, third)
}

/// Posts the login form `fields` from `browser`.
async fn post(browser: &mut EndUser<'_>, fields: Vec<(String, String)>) -> Reply {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    browser.post("login", &fields).await
}

/// Asserts the 403 page of a form posted from another site, which echoes none of `sent`.
#[track_caller]
fn expect_cross_site_refusal(reply: &Reply, sent: &[(&str, &str)], what: &str) {
    expect_page(reply, 403, what);
    assert!(reply.text.contains(CROSS_SITE), "{what}: {}", reply.text);
    for (_, value) in sent {
        assert!(!reply.text.contains(value), "{what}: the page echoes {value}: {}", reply.text);
    }
}

#[tokio::test]
async fn the_csrf_token_is_bound_to_the_pre_session() {
    let (server, first, _) = setup(None).await;
    let mut agent = EndUser::new(&server, TENANT);
    let page = agent.authorize(&common::code_request(&first, CB, &[])).await;
    assert!(common::is_login_page(&page), "{}", page.text);
    let (token, request) =
        (common::hidden_input(&page.text, "csrf"), common::hidden_input(&page.text, "request"));
    let login = |csrf: String| {
        vec![
            ("csrf".to_owned(), csrf),
            ("request".to_owned(), request.clone()),
            ("username".to_owned(), "alice".to_owned()),
            ("password".to_owned(), PASSWORD.to_owned()),
        ]
    };

    // A sibling subdomain plants a cookie of its choice and posts the same value: the bare
    // double submit this replaced would have taken it.
    let planted = "Pl4nted-by-a-sibling-subdomain-0123456789ab".to_owned();
    assert_eq!(planted.len(), 43, "the shape of a real pre-session id");
    let mut victim = EndUser::new(&server, TENANT);
    victim.jar.insert(common::CSRF_COOKIE.into(), planted.clone());
    let reply = post(&mut victim, login(planted)).await;
    expect_page(&reply, 400, "a planted double-submit pair");
    assert!(reply.text.contains("The form expired"), "{}", reply.text);
    assert!(!victim.has_session());

    // A real token, but of another browser's pre-session.
    let mut other = EndUser::new(&server, TENANT);
    let own = other.authorize(&common::code_request(&first, CB, &[])).await;
    assert!(common::is_login_page(&own));
    assert_ne!(other.jar[common::CSRF_COOKIE], agent.jar[common::CSRF_COOKIE]);
    let reply = post(&mut other, login(token.clone())).await;
    expect_page(&reply, 400, "a token of another pre-session");
    assert!(!other.has_session());

    // The page's own pair works, and a second tab of the same browser gets a token for the
    // same pre-session, which works too.
    let tab = agent.authorize(&common::code_request(&first, CB, &[])).await;
    assert!(set_cookie(&set_cookies(&tab), common::CSRF_COOKIE).is_none(), "the pre-session is kept");
    assert_eq!(common::hidden_input(&tab.text, "csrf"), token, "one token per pre-session and form");
    let reply = post(&mut agent, login(token)).await;
    redirect_params(&reply, CB, "the page's own token");
    assert!(agent.has_session());
}

#[tokio::test]
async fn our_forms_posted_from_another_site_are_refused() {
    let (server, first, third) = setup(None).await;
    let evil = [("origin", "https://evil.example")];
    let sibling = [("origin", "http://login.127.0.0.1.nip.io")];
    let cross_site = [("sec-fetch-site", "cross-site")];
    let same_site = [("sec-fetch-site", "same-site")];
    let both = [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")];
    let foreign: [&[(&str, &str)]; 5] = [&evil, &sibling, &cross_site, &same_site, &both];

    // The login form: refused whatever the token, before any password work.
    let mut agent = EndUser::new(&server, TENANT);
    let page = agent.authorize(&common::code_request(&first, CB, &[])).await;
    let login = common::login_form(&page, "alice", PASSWORD);
    let login = login.pairs();
    for headers in foreign {
        let reply = agent.post_with("login", &login, headers).await;
        expect_cross_site_refusal(&reply, headers, &format!("login with {headers:?}"));
        assert!(!agent.has_session());
    }
    // As a browser sends our own form (the page's Referrer-Policy makes the origin `null`),
    // or with our origin, or with neither header (curl), it counts.
    let own = [("origin", "null"), ("sec-fetch-site", "same-origin")];
    let reply = agent.post_with("login", &login, &own).await;
    redirect_params(&reply, CB, "our own login form");
    assert!(agent.has_session());

    // The consent form.
    let consent = agent.authorize(&common::code_request(&third, CB, &[])).await;
    assert!(common::is_consent_page(&consent), "{}", consent.text);
    let allow = [
        ("csrf", common::hidden_input(&consent.text, "csrf")),
        ("request", common::hidden_input(&consent.text, "request")),
        ("decision", "allow".to_owned()),
    ];
    let allow: Vec<(&str, &str)> = allow.iter().map(|(n, v)| (*n, v.as_str())).collect();
    for headers in foreign {
        let reply = agent.post_with("consent", &allow, headers).await;
        expect_cross_site_refusal(&reply, headers, &format!("consent with {headers:?}"));
    }
    let origin = server.public_url.clone();
    let reply = agent.post_with("consent", &allow, &[("origin", &origin)]).await;
    redirect_params(&reply, CB, "consent from our origin");

    // The logout confirmation: refused, and the session lives on.
    let confirm = agent.get("logout").await;
    expect_page(&confirm, 200, "logout confirmation page");
    let csrf = common::hidden_input(&confirm.text, "csrf");
    for headers in foreign {
        let reply = agent.post_with("logout", &[("confirm", "yes"), ("csrf", &csrf)], headers).await;
        expect_cross_site_refusal(&reply, headers, &format!("logout confirmation with {headers:?}"));
    }
    let reply = agent.authorize(&common::code_request(&first, CB, &[("prompt", "none")])).await;
    assert!(redirect_params(&reply, CB, "prompt=none").contains_key("code"), "the session lives on");

    // What other sites post here by design is not checked: a client's POST to /authorize
    // (OpenID Connect Core 3.1.2.1), RP-Initiated Logout's own POST (it asks to confirm), and
    // the back channel.
    let path = format!("/t/{TENANT}/authorize");
    let body = form_body(&common::code_request(&first, CB, &[("prompt", "none")]));
    let form = Some("application/x-www-form-urlencoded");
    let reply = agent.send_with_headers(Method::POST, &path, &both, form, Some(body.into_bytes())).await;
    assert!(redirect_params(&reply, CB, "a client's POST to /authorize").contains_key("code"));
    let reply = agent.post_with("logout", &[("client_id", &first)], &both).await;
    expect_page(&reply, 200, "RP-Initiated Logout by POST");
    assert!(reply.text.contains("confirm-logout"), "asks to confirm: {}", reply.text);
    let token = server.post_form(TENANT, "token", None, "grant_type=client_credentials").await;
    assert_ne!(token.status.as_u16(), 403, "the token endpoint is not a page: {token:?}");
    assert!(token.error().is_some(), "an OAuth error: {}", token.text);
    assert!(agent.has_session());
}

#[tokio::test]
async fn behind_https_the_cookies_are_host_prefixed_and_hold_the_tenant() {
    let public = "https://id.example";
    let (server, first, _) = setup(Some(public)).await;
    let mut agent = EndUser::new(&server, TENANT);
    let (session_name, csrf_name) = (agent.session_cookie(), agent.csrf_cookie());
    assert_eq!(
        (session_name.as_str(), csrf_name.as_str()),
        ("__Host-tessera-session-acme", "__Host-tessera-csrf-acme")
    );

    let page = agent.authorize(&common::code_request(&first, CB, &[])).await;
    let cookies = set_cookies(&page);
    assert!(set_cookie(&cookies, common::CSRF_COOKIE).is_none(), "no http name: {cookies:?}");
    let csrf = set_cookie(&cookies, &csrf_name).expect("the __Host- CSRF cookie");
    for attr in ["Secure", "Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(csrf.has(attr), "{attr} in {csrf:?}");
    }
    assert!(!csrf.attrs.iter().any(|a| a.to_ascii_lowercase().starts_with("domain")), "{csrf:?}");

    // The whole flow with those cookies sent back by hand (a browser would, over https), and
    // our own origin in `Origin`.
    let login = common::login_form(&page, "alice", PASSWORD);
    let login = login.pairs();
    let reply = agent.post_with("login", &login, &[("origin", "http://id.example")]).await;
    expect_cross_site_refusal(&reply, &[], "http origin of an https server");
    let reply = agent.post_with("login", &login, &[("origin", public)]).await;
    redirect_params(&reply, CB, "login behind https");
    let cookies = set_cookies(&reply);
    assert!(set_cookie(&cookies, common::SESSION_COOKIE).is_none(), "no http name: {cookies:?}");
    let session = set_cookie(&cookies, &session_name).expect("the __Host- session cookie");
    for attr in ["Secure", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=36000"] {
        assert!(session.has(attr), "{attr} in {session:?}");
    }
    assert!(!session.attrs.iter().any(|a| a.to_ascii_lowercase().starts_with("domain")), "{session:?}");
    let reply = agent.authorize(&common::code_request(&first, CB, &[("prompt", "none")])).await;
    assert!(redirect_params(&reply, CB, "SSO by the __Host- cookie").contains_key("code"));

    // Logging out expires the cookie under the same name and attributes, or a browser would
    // keep it.
    let confirm = agent.get("logout").await;
    let csrf = common::hidden_input(&confirm.text, "csrf");
    let reply =
        agent.post_with("logout", &[("confirm", "yes"), ("csrf", &csrf)], &[("origin", public)]).await;
    expect_page(&reply, 200, "signed out");
    let cookies = set_cookies(&reply);
    let expired = set_cookie(&cookies, &session_name).expect("the session cookie expired");
    for attr in ["Max-Age=0", "Secure", "Path=/"] {
        assert!(expired.has(attr), "{attr} in {expired:?}");
    }
    assert!(!agent.has_session());
}
