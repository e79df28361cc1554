//! Malformed requests to the HTTP surface of end-user login, on the real binary: `/authorize`
//! (GET and POST), the login and consent forms, RP-Initiated Logout, `/userinfo`, the code and
//! refresh grants at `/token`, and CORS preflights. Each case gets the answer its RFC gives, in
//! the right format: a page (400, HTML, never a redirect) while the client or redirect URI is not
//! trusted, a 303 to the registered URI carrying `error`, `state` and `iss` once it is, RFC 6749
//! or RFC 6750 JSON at the back-channel endpoints. After every group the server is alive (no
//! panic) and nothing changed: sessions, consents, codes and refresh tokens the bad requests
//! should not have touched still work.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::Carrier::{self, Fragment, Query};
use common::{Backend, Client, EndUser, Options, TestServer, form_body, redirect_params_in, with_extra};
use reqwest::Method;
use serde_json::{Value, json};

const TENANT: &str = "acme";
const OTHER: &str = "other";
const CB: &str = "https://app.example/cb";
const BYE: &str = "https://app.example/bye";
const PASSWORD: &str = "correct horse battery";
const FORM: &str = "application/x-www-form-urlencoded";
/// The server's cap on an authorization request (`web::MAX_AUTHORIZATION_REQUEST_BYTES`).
const MAX_REQUEST: usize = 8 * 1024;

/// Request parameters, as name-value pairs.
type Params<'a> = Vec<(&'a str, &'a str)>;
/// Token request fields with owned values.
type Fields = Vec<(&'static str, String)>;

/// The server and the clients every group uses.
struct Fixture {
    server: TestServer,
    /// First-party confidential code client (`authorization_code`, `refresh_token`).
    code_id: String,
    code_secret: String,
    /// A third-party client: consent is asked.
    consent_id: String,
    /// A first-party client registered for the hybrid `code id_token`.
    hybrid_id: String,
    /// A client of the other tenant, with the same redirect URI.
    other_id: String,
    other_secret: String,
}

/// Tenants `acme` (user `alice`) and `other` (user `bob`), and the clients of [`Fixture`]. The
/// per-address login limit is raised: every request comes from 127.0.0.1.
async fn fixture() -> Fixture {
    let options = Options::many_logins(Backend::Software);
    let server = TestServer::start_with(options).await;
    for (tenant, user) in [(TENANT, "alice"), (OTHER, "bob")] {
        server.create_tenant(tenant, Value::Null).await;
        let body = json!({ "username": user, "password": PASSWORD, "email": format!("{user}@example.com") });
        server.create_user(tenant, body).await;
    }
    let client = |first_party: bool, extra: Value| {
        let body = json!({
            "client_name": "Photo App",
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": [CB],
            "post_logout_redirect_uris": [BYE],
            "scope": "openid profile email offline_access",
            "first_party": first_party,
        });
        with_extra(body, extra)
    };
    let (code_id, code_secret) = server.create_client(TENANT, client(true, json!({}))).await;
    let (consent_id, _) = server.create_client(TENANT, client(false, json!({}))).await;
    let hybrid = json!({
        "grant_types": ["authorization_code", "refresh_token", "implicit"],
        "response_types": ["code id_token"],
    });
    let (hybrid_id, _) = server.create_client(TENANT, client(true, hybrid)).await;
    let (other_id, other_secret) = server.create_client(OTHER, client(true, json!({}))).await;
    Fixture { server, code_id, code_secret, consent_id, hybrid_id, other_id, other_secret }
}

/// Signs `agent` in to `client_id` (first-party) and returns the code of the redirect; with a
/// session already, no page is shown.
async fn code_for(agent: &mut EndUser<'_>, client_id: &str, extra: &[(&str, &str)], user: &str) -> String {
    agent.code(CB, &common::code_request(client_id, CB, extra), user, PASSWORD).await
}

/// A raw HTTP/1.1 request over TCP, for bytes a URL library refuses to send; returns the
/// status line.
async fn raw_status_line(server: &TestServer, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.expect("read");
    let text = String::from_utf8_lossy(&out);
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn authorize_refuses_malformed_requests() {
    let Fixture { server, code_id, hybrid_id, other_id, .. } = fixture().await;
    let issuer = server.issuer(TENANT);
    let mut agent = EndUser::new(&server, TENANT);
    let base = form_body(&common::code_request(&code_id, CB, &[]));

    // Fatal: the client or its redirect URI is not established. A page, never a redirect.
    let sixty_five = format!("{base}&{}", (0..60).map(|i| format!("p{i}=v")).collect::<Vec<_>>().join("&"));
    let fatal: Vec<(String, &str)> = vec![
        (String::new(), "no query"),
        ("client_id=%ZZ&response_type=code".into(), "invalid percent-escape"),
        ("client_id=abc%2".into(), "truncated percent-escape"),
        (
            format!("client_id=%FF%FE&response_type=code&redirect_uri={}", common::form_encode(CB)),
            "non-UTF-8",
        ),
        (format!("{base}&client_id={code_id}"), "client_id twice"),
        (format!("{base}&client_id=nope"), "client_id twice, different"),
        (format!("{base}&redirect_uri={}", common::form_encode(CB)), "redirect_uri twice"),
        (
            format!(
                "{}&response_type=code",
                form_body(&common::code_request(&code_id, CB, &[("redirect_uri", "https://evil.example/")]))
            ),
            "response_type twice, unregistered redirect_uri",
        ),
        (form_body(&[("response_type", "code"), ("response_type", "code")]), "repeats, no client"),
        (sixty_five, "65 parameters"),
        (form_body(&common::code_request("nope", CB, &[])), "unknown client"),
        (form_body(&common::code_request(&other_id, CB, &[])), "client of another tenant"),
        (
            form_body(&common::code_request(&code_id, CB, &[("redirect_uri", "https://evil.example/cb")])),
            "unregistered",
        ),
        (
            form_body(&common::code_request(&code_id, CB, &[("redirect_uri", "https://app.example/cb#x")])),
            "fragment",
        ),
        (form_body(&common::code_request(&code_id, CB, &[("redirect_uri", "/cb")])), "relative redirect_uri"),
        (
            form_body(&common::code_request(&code_id, CB, &[("redirect_uri", "javascript:alert(1)")])),
            "javascript:",
        ),
        (
            form_body(&common::code_request(&code_id, CB, &[("redirect_uri", "https://APP.example/cb")])),
            "case differs",
        ),
        (
            form_body(&common::code_request(&code_id, CB, &[("redirect_uri", "https://app.example/cb/")])),
            "extra slash",
        ),
        (form_body(&[("client_id", &code_id), ("response_type", "code"), ("scope", "openid")]), "no URI"),
        (form_body(&common::code_request("", CB, &[])), "empty client_id"),
    ];
    for (query, what) in &fatal {
        let reply = agent.get(&format!("authorize?{query}")).await;
        common::expect_page(&reply, 400, what);
        assert!(!reply.text.contains("evil.example") && !reply.text.contains("javascript:"), "{what}");
    }
    // The same requests as a POST form.
    for (body, what) in &fatal {
        let path = format!("/t/{TENANT}/authorize");
        let reply = agent.send(Method::POST, &path, Some(FORM), Some(body.clone().into_bytes())).await;
        common::expect_page(&reply, 400, &format!("POST {what}"));
    }

    // Over the 8 KiB cap: the page says so, whatever the request is (here a valid one padded).
    for size in [MAX_REQUEST + 1, 20 * 1024] {
        let pad = "a".repeat(size - base.len() - "&pad=".len());
        let query = format!("{base}&pad={pad}");
        assert_eq!(query.len(), size);
        let reply = agent.get(&format!("authorize?{query}")).await;
        common::expect_page(&reply, 400, &format!("{size}-byte query"));
        assert!(reply.text.contains("The sign-in request is too large."), "{}", reply.text);
        let path = format!("/t/{TENANT}/authorize");
        let reply = agent.send(Method::POST, &path, Some(FORM), Some(query.into_bytes())).await;
        // As a body, 20 KiB is over the 16 KiB body limit too: 413 Content Too Large.
        let status = if size > 16 * 1024 { 413 } else { 400 };
        common::expect_page(&reply, status, &format!("{size}-byte form"));
        assert!(reply.text.contains("request is too large."), "{}", reply.text);
    }
    // Exactly at the cap is still a request.
    let pad = "a".repeat(MAX_REQUEST - base.len() - "&pad=".len());
    let reply = agent.get(&format!("authorize?{base}&pad={pad}")).await;
    assert!(common::is_login_page(&reply), "8 KiB request: {}", reply.text);

    // Raw non-ASCII bytes in the request target never reach a handler as text: refused by
    // the HTTP layer (or the form parser), never a 5xx.
    let request =
        format!("GET /t/{TENANT}/authorize?client_id=\u{0} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut bytes = request.into_bytes();
    let nul = bytes.iter().position(|&b| b == 0).expect("marker");
    bytes.splice(nul..=nul, [0xFF, 0xFE]);
    let line = raw_status_line(&server, &bytes).await;
    assert!(line.starts_with("HTTP/1.1 4"), "raw non-UTF-8 query: {line}");

    // Trusted client and URI: the error goes back to the client, with state and iss.
    let (_, challenge) = common::pkce_pair();
    let short = "a".repeat(42);
    let bad_chars = format!("{}+/=", "a".repeat(40));
    let long = "a".repeat(129);
    let long_nonce = "n".repeat(513);
    let redirects: Vec<(Params, &str, Carrier, &str)> = vec![
        (
            common::code_request(&code_id, CB, &[("response_type", "foo")]),
            "unsupported_response_type",
            Query,
            "unknown type",
        ),
        (
            common::code_request(&code_id, CB, &[("response_type", "token")]),
            "unsupported_response_type",
            Query,
            "bare token",
        ),
        (
            common::code_request(&code_id, CB, &[("response_type", "code code")]),
            "unsupported_response_type",
            Query,
            "code code",
        ),
        (
            common::code_request(&code_id, CB, &[("response_type", "")]),
            "invalid_request",
            Query,
            "empty response_type",
        ),
        (
            common::code_request(&code_id, CB, &[("response_type", "code id_token"), ("nonce", "n")]),
            "unauthorized_client",
            Fragment,
            "type not registered",
        ),
        (
            common::code_request(&code_id, CB, &[("response_mode", "bogus")]),
            "invalid_request",
            Query,
            "unknown mode",
        ),
        (
            common::code_request(
                &hybrid_id,
                CB,
                &[("response_type", "code id_token"), ("nonce", "n"), ("response_mode", "query")],
            ),
            "invalid_request",
            Fragment,
            "query mode with tokens",
        ),
        (
            common::code_request(&hybrid_id, CB, &[("response_type", "code id_token")]),
            "invalid_request",
            Fragment,
            "no nonce",
        ),
        (
            common::code_request(&code_id, CB, &[("prompt", "none login")]),
            "invalid_request",
            Query,
            "prompt none login",
        ),
        (
            common::code_request(&code_id, CB, &[("prompt", "bogus")]),
            "invalid_request",
            Query,
            "prompt bogus",
        ),
        (common::code_request(&code_id, CB, &[("max_age", "-1")]), "invalid_request", Query, "max_age -1"),
        (common::code_request(&code_id, CB, &[("max_age", "abc")]), "invalid_request", Query, "max_age abc"),
        (common::code_request(&code_id, CB, &[("max_age", "1.5")]), "invalid_request", Query, "max_age 1.5"),
        (
            common::code_request(&code_id, CB, &[("max_age", "99999999999999999999999999")]),
            "invalid_request",
            Query,
            "max_age huge",
        ),
        (
            common::code_request(
                &code_id,
                CB,
                &[("code_challenge", &challenge), ("code_challenge_method", "plain")],
            ),
            "invalid_request",
            Query,
            "plain without opt-in",
        ),
        (
            common::code_request(
                &code_id,
                CB,
                &[("code_challenge", &challenge), ("code_challenge_method", "S512")],
            ),
            "invalid_request",
            Query,
            "unknown method",
        ),
        (
            common::code_request(&code_id, CB, &[("code_challenge_method", "S256")]),
            "invalid_request",
            Query,
            "method only",
        ),
        (
            common::code_request(&code_id, CB, &[("code_challenge", &short)]),
            "invalid_request",
            Query,
            "42-char challenge",
        ),
        (
            common::code_request(&code_id, CB, &[("code_challenge", &long)]),
            "invalid_request",
            Query,
            "129-char challenge",
        ),
        (
            common::code_request(&code_id, CB, &[("code_challenge", &bad_chars)]),
            "invalid_request",
            Query,
            "challenge chars",
        ),
        (
            common::code_request(&code_id, CB, &[("request", "eyJhbGciOiJub25lIn0.e30.")]),
            "request_not_supported",
            Query,
            "request",
        ),
        (
            common::code_request(&code_id, CB, &[("request_uri", "https://app.example/r")]),
            "request_uri_not_supported",
            Query,
            "request_uri",
        ),
        (
            common::code_request(&code_id, CB, &[("scope", "openid pro\"file")]),
            "invalid_scope",
            Query,
            "scope quote",
        ),
        (
            common::code_request(&code_id, CB, &[("scope", "openid\tprofile")]),
            "invalid_scope",
            Query,
            "scope tab",
        ),
        (
            common::code_request(&code_id, CB, &[("scope", "openid caf\u{e9}")]),
            "invalid_scope",
            Query,
            "scope non-ASCII",
        ),
        (
            common::code_request(&code_id, CB, &[("scope", "openid admin")]),
            "invalid_scope",
            Query,
            "scope not registered",
        ),
        (
            common::code_request(&code_id, CB, &[("nonce", &long_nonce)]),
            "invalid_request",
            Query,
            "overlong nonce",
        ),
    ];
    for (params, error, carrier, what) in &redirects {
        for post in [false, true] {
            let reply =
                if post { agent.post("authorize", params).await } else { agent.authorize(params).await };
            let what = format!("{what} (POST: {post})");
            let p = redirect_params_in(&reply, CB, *carrier, &what);
            assert_eq!(p.get("error").map(String::as_str), Some(*error), "{what}: {p:?}");
            assert_eq!(p.get("state").map(String::as_str), Some("st-1"), "{what}: state");
            assert_eq!(p.get("iss"), Some(&issuer), "{what}: iss (RFC 9207)");
            assert!(!p.contains_key("code"), "{what}: no code with an error");
        }
    }

    // A repeated parameter of a trusted request is an invalid_request for the client (RFC
    // 6749 3.1, 4.1.2.1); a repeated state is not echoed.
    for (extra, name, state) in [
        ("response_type=code", "response_type", Some("st-1")),
        ("scope=openid", "scope", Some("st-1")),
        ("response_mode=query&response_mode=fragment", "response_mode", Some("st-1")),
        ("state=other", "state", None),
    ] {
        let query = format!("{base}&{extra}");
        for post in [false, true] {
            let reply = if post {
                let path = format!("/t/{TENANT}/authorize");
                agent.send(Method::POST, &path, Some(FORM), Some(query.clone().into_bytes())).await
            } else {
                agent.get(&format!("authorize?{query}")).await
            };
            let what = format!("{name} repeated (POST: {post})");
            let p = redirect_params_in(&reply, CB, Query, &what);
            assert_eq!(p.get("error").map(String::as_str), Some("invalid_request"), "{what}: {p:?}");
            assert!(p.get("error_description").is_some_and(|d| d.contains(name)), "{what}: {p:?}");
            assert_eq!(p.get("state").map(String::as_str), state, "{what}: state");
            assert_eq!(p.get("iss"), Some(&issuer), "{what}: iss");
        }
    }

    // Wrong methods and bodies.
    let path = format!("/t/{TENANT}/authorize?{base}");
    for method in [Method::PUT, Method::DELETE, Method::PATCH, Method::OPTIONS] {
        let reply = agent.send(method.clone(), &path, None, None).await;
        common::expect_page(&reply, 405, &format!("{method} /authorize"));
        let allow = reply.header("allow").expect("Allow");
        assert!(allow.contains("GET") && allow.contains("POST"), "{method}: Allow {allow}");
    }
    let path = format!("/t/{TENANT}/authorize");
    for ct in [Some("application/json"), Some("text/plain"), Some("multipart/form-data; boundary=x"), None] {
        let reply = agent.send(Method::POST, &path, ct, Some(base.clone().into_bytes())).await;
        common::expect_page(&reply, 400, &format!("POST /authorize as {ct:?}"));
    }
    let over = format!("{base}&pad={}", "a".repeat(17 * 1024));
    let reply = agent.send(Method::POST, &path, Some(FORM), Some(over.into_bytes())).await;
    // The page body limit (16 KiB), answered as RFC 9110 15.5.14 says.
    common::expect_page(&reply, 413, "17 KiB form");

    // Nothing changed: no session was made, and the user still signs in.
    assert!(!agent.has_session());
    let code = code_for(&mut agent, &code_id, &[], "alice").await;
    assert!(!code.is_empty());
    server.assert_alive();
}

#[tokio::test]
async fn login_and_consent_refuse_bad_forms() {
    let Fixture { server, code_id, consent_id, other_id, .. } = fixture().await;
    let mut agent = EndUser::new(&server, TENANT);
    let page = agent.authorize(&common::code_request(&code_id, CB, &[])).await;
    assert!(common::is_login_page(&page), "{}", page.text);
    let (csrf, request) =
        (common::hidden_input(&page.text, "csrf"), common::hidden_input(&page.text, "request"));
    let enc = |raw: &[u8]| URL_SAFE_NO_PAD.encode(raw);
    let other_tenant = enc(form_body(&common::code_request(&other_id, CB, &[])).as_bytes());
    let bad_uri =
        enc(form_body(&common::code_request(&code_id, CB, &[("redirect_uri", "https://evil.example/")]))
            .as_bytes());
    let too_big = enc(format!(
        "{}&pad={}",
        form_body(&common::code_request(&code_id, CB, &[])),
        "a".repeat(MAX_REQUEST)
    )
    .as_bytes());
    let garbage = enc(b"\xff\xfe\x00garbage%ZZ");
    let no_client = enc(b"foo=bar");
    let padded = format!("{request}=");
    let user = ("username", "alice");
    let pass = ("password", PASSWORD);

    // (fields, what, message on the page): each a 400 page, no session, no redirect.
    let forged = "A".repeat(43);
    let cases: Vec<(Params, &str, &str)> = vec![
        (vec![("csrf", &forged), ("request", &request), user, pass], "mismatched CSRF", "The form expired"),
        (vec![("request", &request), user, pass], "no CSRF field", "The form expired"),
        (
            vec![("csrf", "short"), ("request", &request), user, pass],
            "malformed CSRF field",
            "The form expired",
        ),
        (vec![("csrf", &csrf), user, pass], "missing request", "lost its request"),
        (vec![("csrf", &csrf), ("request", "!!!not base64!!!"), user, pass], "request not base64url", "lost"),
        (vec![("csrf", &csrf), ("request", &padded), user, pass], "request with padding", "lost"),
        (vec![("csrf", &csrf), ("request", &too_big), user, pass], "request over the cap", "lost"),
        (vec![("csrf", &csrf), ("request", &garbage), user, pass], "base64url of garbage", "invalid"),
        (vec![("csrf", &csrf), ("request", &no_client), user, pass], "request without client", "invalid"),
        (
            vec![("csrf", &csrf), ("request", &other_tenant), user, pass],
            "another tenant's client",
            "unknown client",
        ),
        (vec![("csrf", &csrf), ("request", &bad_uri), user, pass], "unregistered redirect_uri", "invalid"),
    ];
    for (fields, what, message) in &cases {
        let reply = agent.post("login", fields).await;
        common::expect_page(&reply, 400, what);
        assert!(reply.text.contains(message), "{what}: page should say {message:?}: {}", reply.text);
        assert!(!agent.has_session(), "{what}");
    }
    // No CSRF cookie at all (a cross-site post).
    let mut stranger = EndUser::new(&server, TENANT);
    common::expect_page(&stranger.login(&page, "alice", PASSWORD).await, 400, "no CSRF cookie");
    assert!(!stranger.has_session());

    // Empty fields: the login page again, saying what is missing.
    for (name, password) in [("", PASSWORD), ("alice", ""), ("   ", PASSWORD), ("", "")] {
        let reply = agent.login(&page, name, password).await;
        common::expect_page(&reply, 200, &format!("empty field {name:?}/{}", password.len()));
        assert!(reply.text.contains("Enter your username and password."), "{}", reply.text);
        assert!(!agent.has_session());
    }
    // A 2 KiB username is just an unknown user.
    let long_name = "u".repeat(2048);
    let reply = agent.login(&page, &long_name, PASSWORD).await;
    common::expect_page(&reply, 200, "2 KiB username");
    assert!(reply.text.contains("The username or password is incorrect."), "{}", reply.text);
    let reply = agent.login(&page, "alice", &"p".repeat(2048)).await;
    common::expect_page(&reply, 200, "2 KiB password");

    // Bodies that are not forms.
    let path = format!("/t/{TENANT}/login");
    let mut raw = form_body(&[("csrf", &csrf), ("request", &request), user]).into_bytes();
    raw.extend_from_slice(b"&password=\xff\xfe");
    common::expect_page(&agent.send(Method::POST, &path, Some(FORM), Some(raw)).await, 400, "non-UTF-8 body");
    let body = form_body(&[("csrf", &csrf), ("request", &request), user, pass]);
    for ct in [Some("application/json"), Some("text/plain"), None] {
        let reply = agent.send(Method::POST, &path, ct, Some(body.clone().into_bytes())).await;
        common::expect_page(&reply, 400, &format!("login as {ct:?}"));
    }
    let repeated = format!("{body}&username=mallory");
    common::expect_page(
        &agent.send(Method::POST, &path, Some(FORM), Some(repeated.into_bytes())).await,
        400,
        "repeat",
    );
    // A repeated name that is not Tessera's own is not written on the server's page.
    let planted = "Call+0800+555+0199+to+unlock+your+account";
    let repeated = format!("{body}&{planted}=1&{planted}=2");
    let reply = agent.send(Method::POST, &path, Some(FORM), Some(repeated.into_bytes())).await;
    common::expect_page(&reply, 400, "planted repeat");
    assert!(!reply.text.contains("0800"), "the page echoes the planted name: {}", reply.text);
    assert!(reply.text.contains("a parameter is repeated"), "{}", reply.text);
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        for endpoint in ["login", "consent"] {
            let reply = agent.send(method.clone(), &format!("/t/{TENANT}/{endpoint}"), None, None).await;
            common::expect_page(&reply, 405, &format!("{method} /{endpoint}"));
            assert_eq!(reply.header("allow"), Some("POST"), "{method} /{endpoint}");
        }
    }
    assert!(!agent.has_session(), "no bad login made a session");

    // Consent: a third-party client, signed in.
    let page = agent.authorize(&common::code_request(&consent_id, CB, &[])).await;
    let consent = agent.login(&page, "alice", PASSWORD).await;
    assert!(common::is_consent_page(&consent), "{}", consent.text);
    let (csrf, request) =
        (common::hidden_input(&consent.text, "csrf"), common::hidden_input(&consent.text, "request"));
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("csrf", &csrf), ("request", &request)], "missing decision"),
        (vec![("csrf", &csrf), ("request", &request), ("decision", "maybe")], "decision=maybe"),
        (vec![("csrf", &csrf), ("request", &request), ("decision", "ALLOW")], "decision=ALLOW"),
        (vec![("csrf", &forged), ("request", &request), ("decision", "allow")], "mismatched CSRF"),
        (vec![("request", &request), ("decision", "allow")], "no CSRF"),
        (vec![("csrf", &csrf), ("decision", "allow")], "missing request"),
        (vec![("csrf", &csrf), ("request", &other_tenant), ("decision", "allow")], "another tenant's client"),
        (vec![("csrf", &csrf), ("request", &bad_uri), ("decision", "allow")], "unregistered redirect_uri"),
    ];
    for (fields, what) in &cases {
        let reply = agent.post("consent", fields).await;
        common::expect_page(&reply, 400, &format!("consent: {what}"));
    }
    let repeated =
        form_body(&[("csrf", &csrf), ("request", &request), ("decision", "deny"), ("decision", "allow")]);
    let path = format!("/t/{TENANT}/consent");
    let reply = agent.send(Method::POST, &path, Some(FORM), Some(repeated.into_bytes())).await;
    common::expect_page(&reply, 400, "consent: decision twice");
    // A stranger's login form token is no consent token: the purpose is inside its MAC.
    let mut stranger = EndUser::new(&server, TENANT);
    let own = stranger.authorize(&common::code_request(&consent_id, CB, &[])).await;
    let own_csrf = common::hidden_input(&own.text, "csrf");
    let reply =
        stranger.post("consent", &[("csrf", &own_csrf), ("request", &request), ("decision", "allow")]).await;
    common::expect_page(&reply, 400, "consent with a login form's token");
    assert!(!reply.text.contains("code="), "{}", reply.text);
    // A valid consent form whose session has gone (the cookie cleared, as when it expires)
    // leads to the login page, never to a code.
    let mut lapsed = EndUser::new(&server, TENANT);
    lapsed.jar = agent.jar.clone();
    lapsed.jar.remove(&lapsed.session_cookie());
    let reply =
        lapsed.post("consent", &[("csrf", &csrf), ("request", &request), ("decision", "allow")]).await;
    common::expect_page(&reply, 200, "consent without a session");
    assert!(common::is_login_page(&reply), "{}", reply.text);

    // Nothing changed: no consent was recorded (the next request asks again), and the real
    // form still works.
    let again = agent.authorize(&common::code_request(&consent_id, CB, &[])).await;
    assert!(common::is_consent_page(&again), "no consent was stored: {}", again.text);
    let reply = agent.post("consent", &[("csrf", &csrf), ("request", &request), ("decision", "allow")]).await;
    assert!(redirect_params_in(&reply, CB, Query, "allow").contains_key("code"));
    let mut fresh = EndUser::new(&server, TENANT);
    assert!(!code_for(&mut fresh, &code_id, &[], "alice").await.is_empty(), "alice still signs in");
    server.assert_alive();
}

#[tokio::test]
async fn logout_refuses_bad_hints_and_return_addresses() {
    let Fixture { server, code_id, code_secret, consent_id, other_id, other_secret, .. } = fixture().await;
    let mut agent = EndUser::new(&server, TENANT);
    let (verifier, challenge) = common::pkce_pair();
    let pkce_params =
        [("nonce", "n"), ("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let code = code_for(&mut agent, &code_id, &pkce_params, "alice").await;
    let tokens = server
        .exchange(&Client::new(TENANT, (code_id.clone(), code_secret.clone()), CB), &code, Some(&verifier))
        .await;
    tokens.expect_status(200, "code exchange");
    let id_token = tokens.json["id_token"].as_str().expect("id_token").to_owned();
    let access_token = tokens.json["access_token"].as_str().expect("access_token").to_owned();
    // An ID token of the other tenant, for the same user name and the same redirect URI.
    let mut elsewhere = EndUser::new(&server, OTHER);
    let code = code_for(&mut elsewhere, &other_id, &pkce_params, "bob").await;
    let other_tokens = server
        .exchange(&Client::new(OTHER, (other_id.clone(), other_secret.clone()), CB), &code, Some(&verifier))
        .await;
    other_tokens.expect_status(200, "other tenant's code exchange");
    let other_id_token = other_tokens.json["id_token"].as_str().expect("id_token").to_owned();
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        id_token.split('.').nth(1).expect("payload")
    );

    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("id_token_hint", "garbage")], "garbage hint"),
        (vec![("id_token_hint", "a.b.c")], "three garbage parts"),
        (vec![("id_token_hint", &other_id_token)], "another tenant's ID token"),
        (vec![("id_token_hint", &access_token)], "an access token"),
        (vec![("id_token_hint", &alg_none)], "alg none"),
        (
            vec![("id_token_hint", &id_token), ("post_logout_redirect_uri", "https://evil.example/")],
            "unregistered",
        ),
        (
            vec![("client_id", &code_id), ("post_logout_redirect_uri", "https://evil.example/")],
            "unregistered (id)",
        ),
        (
            vec![("client_id", &code_id), ("post_logout_redirect_uri", "https://app.example/bye#x")],
            "fragment",
        ),
        (vec![("client_id", &code_id), ("post_logout_redirect_uri", "javascript:alert(1)")], "javascript:"),
        (vec![("post_logout_redirect_uri", BYE)], "no client"),
        (vec![("post_logout_redirect_uri", BYE), ("state", "s")], "no client, with state"),
        (vec![("id_token_hint", &id_token), ("client_id", &consent_id)], "client_id mismatching the hint"),
        (vec![("client_id", "nope"), ("post_logout_redirect_uri", BYE)], "unknown client"),
        (vec![("client_id", &other_id), ("post_logout_redirect_uri", BYE)], "another tenant's client"),
    ];
    for (params, what) in &cases {
        let query = form_body(params);
        let reply = agent.get(&format!("logout?{query}")).await;
        common::expect_page(&reply, 400, &format!("GET logout: {what}"));
        assert!(!reply.text.contains("evil.example"), "{what}");
        let reply = agent.post("logout", params).await;
        common::expect_page(&reply, 400, &format!("POST logout: {what}"));
        assert!(agent.has_session(), "{what}: the session stays");
    }
    let raw: Vec<(String, &str)> = vec![
        (format!("id_token_hint={id_token}&id_token_hint={id_token}"), "hint twice"),
        ("state=%ZZ".into(), "invalid escape"),
        ("state=%FF".into(), "non-UTF-8"),
    ];
    for (query, what) in &raw {
        common::expect_page(&agent.get(&format!("logout?{query}")).await, 400, what);
    }
    let path = format!("/t/{TENANT}/logout");
    let body = form_body(&[("id_token_hint", &id_token)]);
    for ct in [Some("application/json"), None] {
        let reply = agent.send(Method::POST, &path, ct, Some(body.clone().into_bytes())).await;
        common::expect_page(&reply, 400, &format!("logout as {ct:?}"));
    }
    // The confirmation without (or with a wrong) CSRF token.
    common::expect_page(&agent.post("logout", &[("confirm", "yes")]).await, 400, "confirm without CSRF");
    let forged = "A".repeat(43);
    common::expect_page(
        &agent.post("logout", &[("confirm", "yes"), ("csrf", &forged)]).await,
        400,
        "wrong CSRF",
    );
    for method in [Method::PUT, Method::DELETE] {
        let reply = agent.send(method.clone(), &path, None, None).await;
        common::expect_page(&reply, 405, &format!("{method} /logout"));
        assert!(reply.header("allow").is_some_and(|a| a.contains("GET") && a.contains("POST")));
    }

    // Nothing changed: the session still answers prompt=none, and a valid logout still works.
    assert!(agent.has_session());
    let reply = agent.authorize(&common::code_request(&code_id, CB, &[("prompt", "none")])).await;
    assert!(redirect_params_in(&reply, CB, Query, "prompt=none").contains_key("code"), "session alive");
    let query = form_body(&[("id_token_hint", &id_token), ("post_logout_redirect_uri", BYE), ("state", "z")]);
    let reply = agent.get(&format!("logout?{query}")).await;
    assert_eq!(reply.status.as_u16(), 303, "{}", reply.text);
    assert_eq!(reply.header("location"), Some(format!("{BYE}?state=z").as_str()));
    assert!(!agent.has_session());
    server.assert_alive();
}

#[tokio::test]
async fn userinfo_token_grants_and_preflights_refuse_bad_input() {
    let Fixture { server, code_id, code_secret, .. } = fixture().await;
    let mut agent = EndUser::new(&server, TENANT);
    let (verifier, challenge) = common::pkce_pair();
    let scope = [("scope", "openid profile offline_access"), ("code_challenge", challenge.as_str())];
    let code = code_for(&mut agent, &code_id, &scope, "alice").await;
    let tokens = server
        .exchange(&Client::new(TENANT, (code_id.clone(), code_secret.clone()), CB), &code, Some(&verifier))
        .await;
    tokens.expect_status(200, "code exchange");
    let access = tokens.json["access_token"].as_str().expect("access_token").to_owned();
    let refresh = tokens.json["refresh_token"].as_str().expect("refresh_token").to_owned();
    let userinfo = format!("/t/{TENANT}/userinfo");

    // ----- /userinfo (RFC 6750) -----
    let get = |auth: String| {
        let server = &server;
        let path = userinfo.clone();
        async move { server.send(Method::GET, &path, &[("authorization", auth.as_str())], None).await }
    };
    // An empty token is a malformed request (RFC 6750 3.1 invalid_request, 400).
    for auth in ["Bearer ", "Bearer", "Bearer    "] {
        let reply = get(auth.to_owned()).await;
        reply.expect_oauth_error(400, "invalid_request", &format!("{auth:?}"));
        let challenge = reply.header("www-authenticate").expect("challenge");
        assert!(challenge.starts_with("Bearer") && challenge.contains("invalid_request"), "{challenge}");
    }
    // The scheme is case-insensitive (RFC 7235 2.1): `bearer` works.
    let reply = get(format!("bearer {access}")).await;
    reply.expect_status(200, "lowercase bearer");
    assert!(reply.json["sub"].is_string(), "{}", reply.text);
    // Another scheme carries no bearer token: the bare challenge (RFC 6750 3.1, no error code).
    for auth in [format!("Basic {}", common::random_string()), format!("Token {access}")] {
        let reply = get(auth.clone()).await;
        reply.expect_status(401, &format!("{auth:.10}"));
        let challenge = reply.header("www-authenticate").expect("challenge");
        assert!(challenge.starts_with("Bearer") && !challenge.contains("error="), "{auth:.10}: {challenge}");
        assert!(reply.error().is_none(), "{auth:.10}: no error code: {}", reply.text);
    }
    // A scheme not followed by a space (RFC 9110 11.4) is a malformed request (RFC 6750 3.1).
    get("Bearer\ttab".into()).await.expect_bearer_error(400, "invalid_request", "Bearer and a tab");
    // A forged or other token is invalid_token (401).
    get(format!("Bearer {access}x")).await.expect_bearer_error(401, "invalid_token", "altered token");
    let long = format!("Bearer {}", "x".repeat(10 * 1024));
    get(long).await.expect_bearer_error(401, "invalid_token", "10 KiB token");
    // The URI query is not a place for the token (RFC 6750 2.3 is not supported).
    for method in [Method::GET, Method::POST] {
        let path = format!("{userinfo}?access_token={access}");
        let reply = server.send(method.clone(), &path, &[], None).await;
        reply.expect_status(401, &format!("{method} token in the query"));
        let challenge = reply.header("www-authenticate").expect("challenge");
        assert!(!challenge.contains("error="), "no credentials seen: {challenge}");
        assert!(reply.json.get("sub").is_none());
    }
    // A POST body that is not a form.
    let body = json!({ "access_token": access }).to_string().into_bytes();
    for ct in ["application/json", "text/plain", "multipart/form-data; boundary=x"] {
        let reply = server.send(Method::POST, &userinfo, &[("content-type", ct)], Some(body.clone())).await;
        reply.expect_oauth_error(400, "invalid_request", &format!("userinfo POST as {ct}"));
    }
    // A form body without its media type is not the RFC 6750 2.2 method either.
    let form = format!("access_token={access}").into_bytes();
    let reply = server.send(Method::POST, &userinfo, &[], Some(form)).await;
    reply.expect_oauth_error(400, "invalid_request", "access_token in a body without a content type");
    let auth = format!("Bearer {access}");
    // A POST with the token in the header needs no body, hence no content type.
    let reply = server.send(Method::POST, &userinfo, &[("authorization", &auth)], None).await;
    reply.expect_status(200, "POST with the header and no body");
    let reply = server
        .send(
            Method::POST,
            &userinfo,
            &[("content-type", "application/json"), ("authorization", &auth)],
            Some(body.clone()),
        )
        .await;
    reply.expect_oauth_error(400, "invalid_request", "Bearer header with a JSON body");
    let form = format!("access_token={access}&access_token={access}").into_bytes();
    let reply = server.send(Method::POST, &userinfo, &[("content-type", FORM)], Some(form)).await;
    reply.expect_oauth_error(400, "invalid_request", "access_token twice");
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let reply = server.send(method.clone(), &userinfo, &[("authorization", &auth)], None).await;
        reply.expect_status(405, &format!("{method} /userinfo"));
        assert_eq!(reply.header("allow"), Some("GET, HEAD, POST"), "{method}");
    }

    // ----- /token, authorization_code -----
    let (verifier2, challenge2) = common::pkce_pair();
    let scope2 = [("code_challenge", challenge2.as_str()), ("code_challenge_method", "S256")];
    let code2 = code_for(&mut agent, &code_id, &scope2, "alice").await;
    let token = |form: Vec<(&'static str, String)>| {
        let server = &server;
        let (id, secret) = (code_id.clone(), code_secret.clone());
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
            server.token_basic(TENANT, &id, &secret, &pairs).await
        }
    };
    let ac = |code: &str, verifier: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", CB.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ]
    };
    let long_code = "c".repeat(10 * 1024);
    let cases: Vec<(Fields, &str, &str)> = vec![
        (ac("", &verifier2), "invalid_request", "empty code"),
        (ac(&long_code, &verifier2), "invalid_grant", "10 KiB code"),
        (ac("c\u{f6}d\u{e9}-\u{1f4a9}", &verifier2), "invalid_grant", "non-ASCII code"),
        (ac(&format!("{code2}\u{0}"), &verifier2), "invalid_grant", "code with NUL"),
        (ac(&code2, &"v".repeat(42)), "invalid_request", "42-char verifier"),
        (ac(&code2, &"v".repeat(129)), "invalid_request", "129-char verifier"),
        (ac(&code2, &format!("{}+/=", &verifier2[..40])), "invalid_request", "verifier with + / ="),
        (ac(&code2, &format!("{}\u{e9}", &verifier2[..42])), "invalid_request", "non-ASCII verifier"),
    ];
    for (form, error, what) in cases {
        token(form).await.expect_oauth_error(400, error, what);
    }
    // Repeats are refused before anything is looked up.
    let repeated = [
        format!(
            "grant_type=authorization_code&code={code2}&code={code2}&redirect_uri={}&code_verifier={verifier2}",
            common::form_encode(CB)
        ),
        format!(
            "grant_type=authorization_code&code={code2}&redirect_uri={}&code_verifier={verifier2}&code_verifier={verifier2}",
            common::form_encode(CB)
        ),
    ];
    let basic = common::basic_auth(&code_id, &code_secret);
    for body in &repeated {
        let reply = server.post_form(TENANT, "token", Some(&basic), body).await;
        reply.expect_oauth_error(400, "invalid_request", "repeated code or verifier");
    }
    // None of the malformed requests used the code up.
    let reply = server
        .exchange(&Client::new(TENANT, (code_id.clone(), code_secret.clone()), CB), &code2, Some(&verifier2))
        .await;
    reply.expect_status(200, "the code survives malformed requests");

    // ----- /token, refresh_token -----
    let rt = |value: &str, scope: Option<&str>| {
        let mut form = vec![("grant_type", "refresh_token".to_owned()), ("refresh_token", value.to_owned())];
        if let Some(scope) = scope {
            form.push(("scope", scope.to_owned()));
        }
        form
    };
    let long_rt = "r".repeat(10 * 1024);
    let cases: Vec<(Fields, &str, &str)> = vec![
        (rt("", None), "invalid_request", "empty refresh_token"),
        (rt(&long_rt, None), "invalid_grant", "10 KiB refresh_token"),
        (rt("r\u{e9}fr\u{e9}sh-\u{1f4a9}", None), "invalid_grant", "non-ASCII refresh_token"),
        (rt(&refresh, Some("openid pro\"file")), "invalid_scope", "scope with a quote"),
        (rt(&refresh, Some("openid\tprofile")), "invalid_scope", "scope with a tab"),
        (rt(&refresh, Some("openid caf\u{e9}")), "invalid_scope", "non-ASCII scope"),
        (rt(&refresh, Some(&"x".repeat(200))), "invalid_scope", "overlong scope"),
        (rt(&refresh, Some("openid email")), "invalid_scope", "scope beyond the grant"),
    ];
    for (form, error, what) in cases {
        token(form).await.expect_oauth_error(400, error, what);
    }
    let body = format!("grant_type=refresh_token&refresh_token={refresh}&refresh_token={refresh}");
    let reply = server.post_form(TENANT, "token", Some(&basic), &body).await;
    reply.expect_oauth_error(400, "invalid_request", "refresh_token twice");
    // The refresh token was not rotated by any of them.
    let reply = token(rt(&refresh, Some("openid"))).await;
    reply.expect_status(200, "the refresh token survives malformed requests");
    assert_eq!(reply.json["scope"], "openid");

    // ----- CORS preflights -----
    for endpoint in ["token", "userinfo", "revoke", "introspect"] {
        let path = format!("/t/{TENANT}/{endpoint}");
        for origin in [None, Some("null")] {
            let mut headers = vec![("access-control-request-method", "POST")];
            if let Some(o) = origin {
                headers.push(("origin", o));
            }
            let reply = server.send(Method::OPTIONS, &path, &headers, None).await;
            reply.expect_status(204, &format!("preflight {endpoint} {origin:?}"));
            assert!(reply.header("access-control-allow-origin").is_none(), "{endpoint} {origin:?}: no grant");
            assert!(reply.header("access-control-allow-credentials").is_none());
        }
    }
    // A real request with `Origin: null` gets no grant either, and still its answer.
    let reply =
        server.send(Method::GET, &userinfo, &[("authorization", &auth), ("origin", "null")], None).await;
    reply.expect_status(200, "userinfo from origin null");
    assert!(reply.header("access-control-allow-origin").is_none());
    // The control: the registered origin is granted.
    let reply = server
        .send(
            Method::OPTIONS,
            &format!("/t/{TENANT}/token"),
            &[("origin", "https://app.example"), ("access-control-request-method", "POST")],
            None,
        )
        .await;
    assert_eq!(reply.header("access-control-allow-origin"), Some("https://app.example"));
    // Pages are not for fetch: a preflight at /authorize is a 405 page.
    let reply = server
        .send(Method::OPTIONS, &format!("/t/{TENANT}/authorize"), &[("origin", "https://app.example")], None)
        .await;
    common::expect_page(&reply, 405, "preflight at /authorize");
    assert!(reply.header("access-control-allow-origin").is_none());

    // Nothing changed: the access token still works.
    server
        .send(Method::GET, &userinfo, &[("authorization", &auth)], None)
        .await
        .expect_status(200, "userinfo");
    server.assert_alive();
}
