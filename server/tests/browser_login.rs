//! End-user flows in a real headless browser (Chromium through chromedriver, see
//! `common/browser.rs`) against the real binary: login and consent, then the code exchanged at
//! the token endpoint (PKCE S256) and the ID token checked with `jsonwebtoken` against the
//! JWKS; single sign-on; `prompt=none` with and without a session; RP-Initiated Logout; a
//! wrong password, and the login form used by keyboard alone.
//!
//! The relying party is a [`Callback`] on 127.0.0.1 that records what the browser brings back.

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::{Browser, Callback, param};
use common::{Backend, Client, TestServer, now_secs};
use fantoccini::key::Key;
use openidconnect::core::{CoreJsonWebKey, CoreJwsSigningAlgorithm};
use openidconnect::url::Url;
use openidconnect::{AccessToken, AccessTokenHash, PkceCodeChallenge};
use reqwest::Method;
use serde_json::{Value, json};

const TENANT: &str = "default";
const USERNAME: &str = "alice";
const PASSWORD: &str = "correct horse battery staple";
const CLIENT_NAME: &str = "Cheshire Shop";
/// The generic message of a failed login (`web::login::INCORRECT`).
const INCORRECT: &str = "The username or password is incorrect.";

/// A server with one user and one client, a browser, and the client's two redirect URIs.
struct World {
    server: TestServer,
    browser: Browser,
    /// The client's redirect URI.
    rp: Callback,
    /// The client's post-logout redirect URI.
    bye: Callback,
    issuer: String,
    user_id: String,
    client_id: String,
    secret: String,
}

/// The attributes of the session cookie as the browser keeps it.
struct SessionCookie {
    http_only: Option<bool>,
    same_site: Option<String>,
    path: Option<String>,
}

/// One authorization request's secrets.
struct Request {
    state: String,
    nonce: String,
    verifier: String,
    challenge: String,
}

impl Request {
    fn new() -> Self {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        Self {
            state: common::random_string(),
            nonce: common::random_string(),
            verifier: verifier.secret().to_owned(),
            challenge: challenge.as_str().to_owned(),
        }
    }
}

/// What the token endpoint returned for a code, with the ID token's verified claims.
struct Tokens {
    access_token: String,
    id_token: String,
    claims: Value,
}

impl World {
    /// A fresh server and browser; the client skips consent when `first_party`.
    async fn new(first_party: bool) -> Self {
        let server = TestServer::start(Backend::Software).await;
        let (browser, rp, bye) = (Browser::start().await, Callback::start().await, Callback::start().await);
        let issuer = server.issuer(TENANT);
        let reply = server
            .admin(
                Method::POST,
                &format!("/tenants/{TENANT}/users"),
                Some(json!({
                    "username": USERNAME, "password": PASSWORD, "email": "alice@example.com",
                    "email_verified": true, "name": "Alice Liddell"
                })),
            )
            .await;
        reply.expect_status(201, "create user");
        let user_id = reply.json["id"].as_str().expect("user id").to_owned();
        let (client_id, secret) = server
            .create_client(
                TENANT,
                json!({
                    "client_name": CLIENT_NAME,
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "redirect_uris": [rp.url],
                    "post_logout_redirect_uris": [bye.url],
                    "scope": "openid profile email offline_access",
                    "first_party": first_party,
                }),
            )
            .await;
        assert!(!secret.is_empty(), "a confidential client gets a secret");
        Self { server, browser, rp, bye, issuer, user_id, client_id, secret }
    }

    /// The authorization URL for `req` with `scope` and more parameters.
    fn authorize_url(&self, req: &Request, scope: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.rp.url.as_str()),
            ("scope", scope),
            ("state", req.state.as_str()),
            ("nonce", req.nonce.as_str()),
            ("code_challenge", req.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        pairs.extend_from_slice(extra);
        Url::parse_with_params(&format!("{}/authorize", self.issuer), &pairs)
            .expect("authorize URL")
            .to_string()
    }

    /// Fills in the login form and clicks its button.
    async fn sign_in(&self, username: &str, password: &str) {
        let field = self.browser.wait_for("#username").await;
        field.clear().await.expect("clear #username");
        field.send_keys(username).await.expect("type the username");
        let field = self.browser.wait_for("#password").await;
        field.clear().await.expect("clear #password");
        field.send_keys(password).await.expect("type the password");
        self.browser.wait_for("#login").await.click().await.expect("click #login");
    }

    /// Waits for the `n`-th visit of the redirect URI, checks that the browser shows it and
    /// that `state` came back, and returns the query parameters.
    async fn arrival(&self, n: usize, req: &Request) -> Vec<(String, String)> {
        let params = self.rp.wait_for_hit(n).await;
        let url =
            self.browser.wait_for_url("the redirect URI", |u| u.as_str().starts_with(&self.rp.url)).await;
        assert!(self.browser.has("#callback").await, "the browser shows the relying party's page at {url}");
        assert_eq!(param(&params, "state"), Some(req.state.as_str()), "state comes back: {params:?}");
        if let Some(iss) = param(&params, "iss") {
            assert_eq!(iss, self.issuer, "RFC 9207 iss");
        }
        params
    }

    /// The code of the `n`-th visit of the redirect URI (which must carry no error).
    async fn code(&self, n: usize, req: &Request) -> String {
        let params = self.arrival(n, req).await;
        assert_eq!(param(&params, "error"), None, "no error: {params:?}");
        param(&params, "code").unwrap_or_else(|| panic!("a code at the redirect URI: {params:?}")).to_owned()
    }

    /// The `error` of the `n`-th visit of the redirect URI (which must carry no code).
    async fn error(&self, n: usize, req: &Request) -> String {
        let params = self.arrival(n, req).await;
        assert_eq!(param(&params, "code"), None, "no code with an error: {params:?}");
        param(&params, "error")
            .unwrap_or_else(|| panic!("an error at the redirect URI: {params:?}"))
            .to_owned()
    }

    /// Exchanges `code` (with `req`'s PKCE verifier) and verifies the ID token.
    async fn exchange(&self, code: &str, req: &Request) -> Tokens {
        let reply = self.server.exchange(&self.client(), code, Some(&req.verifier)).await;
        reply.expect_status(200, "code exchange");
        assert_eq!(reply.header("cache-control"), Some("no-store"), "token response Cache-Control");
        assert_eq!(reply.json["token_type"].as_str(), Some("Bearer"), "token_type: {}", reply.text);
        let access_token = reply.json["access_token"].as_str().expect("access_token").to_owned();
        let id_token = reply.json["id_token"].as_str().expect("id_token with scope openid").to_owned();
        let claims = self.verify_id_token(&id_token, &req.nonce, &access_token).await;
        Tokens { access_token, id_token, claims }
    }

    /// The client, for the harness's token endpoint helpers.
    fn client(&self) -> Client {
        Client::new(TENANT, (self.client_id.clone(), self.secret.clone()), &self.rp.url)
    }

    /// Verifies an ID token with `jsonwebtoken` against the tenant's JWKS (RS256, the default):
    /// signature, `iss`, `aud`, `exp`, `iat` (see [`common::verify_id_token`]), then `nonce`,
    /// `sub`, `sid`, `auth_time`, `azp` and `at_hash` (computed by the `openidconnect` crate).
    /// Returns the claims.
    async fn verify_id_token(&self, id_token: &str, nonce: &str, access_token: &str) -> Value {
        let jwks = self.server.jwks(TENANT).await;
        jwks.expect_status(200, "jwks");
        let claims = common::verify_id_token(id_token, &jwks.json, "RS256", &self.issuer, &self.client_id);
        let kid = jsonwebtoken::decode_header(id_token).expect("ID token JOSE header").kid.expect("a kid");

        assert_eq!(claims["nonce"].as_str(), Some(nonce), "nonce: {claims}");
        assert_eq!(claims["sub"].as_str(), Some(self.user_id.as_str()), "sub is the user's id: {claims}");
        assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()), "sid: {claims}");
        let auth_time = claims["auth_time"].as_i64().expect("auth_time is a number");
        let iat = claims["iat"].as_i64().expect("iat is a number");
        assert!(auth_time <= iat && iat <= now_secs() + 1, "auth_time <= iat <= now: {claims}");
        if let Some(azp) = claims.get("azp") {
            assert_eq!(azp.as_str(), Some(self.client_id.as_str()), "azp: {claims}");
        }
        let jwk_json = jwks.json["keys"]
            .as_array()
            .and_then(|keys| keys.iter().find(|k| k["kid"].as_str() == Some(kid.as_str())))
            .expect("the JWK as JSON")
            .clone();
        let oidc_key: CoreJsonWebKey = serde_json::from_value(jwk_json).expect("openidconnect reads the JWK");
        let expected = AccessTokenHash::from_token(
            &AccessToken::new(access_token.to_owned()),
            &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            &oidc_key,
        )
        .expect("at_hash of the access token");
        assert_eq!(claims["at_hash"].as_str(), Some(expected.as_str()), "at_hash: {claims}");
        claims
    }

    /// Logs in through the browser at the authorization URL for `req` (consenting if asked)
    /// and returns the tokens of the code the relying party receives as its `n`-th visit.
    async fn full_login(&self, n: usize, req: &Request) -> Tokens {
        self.browser.goto(&self.authorize_url(req, "openid profile", &[])).await;
        let before = now_secs();
        self.sign_in(USERNAME, PASSWORD).await;
        let code = self.code(n, req).await;
        let after = now_secs();
        let tokens = self.exchange(&code, req).await;
        let auth_time = tokens.claims["auth_time"].as_i64().expect("auth_time");
        assert!(before <= auth_time && auth_time <= after, "auth_time is the login: {}", tokens.claims);
        tokens
    }

    /// The browser's session cookie for the tenant, read on one of the tenant's pages: its
    /// `HttpOnly` flag, `SameSite` value and path.
    async fn session_cookie(&self) -> Option<SessionCookie> {
        self.browser.goto(&format!("{}/.well-known/openid-configuration", self.issuer)).await;
        let cookie = self.browser.client.get_named_cookie("tessera_session").await.ok()?;
        (!cookie.value().is_empty()).then(|| SessionCookie {
            http_only: cookie.http_only(),
            same_site: cookie.same_site().map(|s| s.to_string()),
            path: cookie.path().map(str::to_owned),
        })
    }
}

/// The browser opens a tenant's discovery document and shows the tenant's issuer; a page
/// outside loopback is refused by the harness's network guard.
#[tokio::test]
async fn browser_reads_discovery() {
    let server = TestServer::start(Backend::Software).await;
    let browser = Browser::start().await;
    let issuer = server.issuer(TENANT);

    browser.goto(&format!("{issuer}/.well-known/openid-configuration")).await;
    let text = browser.text("body").await;
    let start = text.find('{').unwrap_or_else(|| panic!("no JSON object in the page text: {text}"));
    let end = text.rfind('}').map_or(text.len(), |i| i + 1);
    let doc: Value = serde_json::from_str(&text[start..end])
        .unwrap_or_else(|e| panic!("the page text is not the JSON document ({e}): {text}"));
    assert_eq!(doc["issuer"].as_str(), Some(issuer.as_str()), "issuer shown in the browser: {text}");

    // The guard: a navigation off loopback never leaves the machine (the proxy refuses it).
    let outside = "http://192.0.2.1/tessera-browser-guard";
    let _ = browser.client.goto(outside).await;
    assert!(
        browser.blocked().iter().any(|line| line.contains("192.0.2.1")),
        "the request to {outside} did not go to the refusing proxy; it saw {:?}",
        browser.blocked()
    );
    assert!(!browser.has("#callback").await);

    browser.close().await;
    server.assert_alive();
}

/// Login, consent (denied once: `access_denied`), the code exchanged with PKCE and the ID token
/// verified, the code single-use; the session cookie's attributes; then single sign-on: a
/// second authorization goes straight back to the client, with the same session and login
/// time and no new consent; `prompt=login` shows the login page again.
#[tokio::test]
async fn login_consent_code_exchange_and_single_sign_on() {
    let w = World::new(false).await;
    let req = Request::new();
    w.browser.goto(&w.authorize_url(&req, "openid profile offline_access", &[])).await;
    assert!(!w.browser.has("#error").await, "no error on a fresh login page");
    let title = w.browser.client.title().await.expect("title");
    assert!(title.contains("Sign in"), "login page title: {title}");
    assert!(w.browser.text("main").await.contains(CLIENT_NAME), "the login page names the client");

    let before = now_secs();
    w.sign_in(USERNAME, PASSWORD).await;
    // Consent: the client is not first-party.
    w.browser.wait_for("#allow").await;
    assert!(w.browser.has("#deny").await, "consent offers a way to deny");
    let text = w.browser.text("main").await;
    assert!(text.contains(CLIENT_NAME) && text.contains(USERNAME), "consent names client and user: {text}");
    assert!(w.rp.hits().is_empty(), "nothing reaches the client before consent");
    // Denied: the client hears access_denied. Asked again, the end-user is still signed in
    // and sees the consent page, not the login page.
    w.browser.wait_for("#deny").await.click().await.expect("click #deny");
    assert_eq!(w.error(1, &req).await, "access_denied");
    w.browser.goto(&w.authorize_url(&req, "openid profile offline_access", &[])).await;
    w.browser.wait_for("#allow").await;
    assert!(!w.browser.has("#username").await, "no login page: the session lives");
    w.browser.wait_for("#allow").await.click().await.expect("click #allow");
    let code = w.code(2, &req).await;
    let after = now_secs();

    let first = w.exchange(&code, &req).await;
    let auth_time = first.claims["auth_time"].as_i64().expect("auth_time");
    assert!(before <= auth_time && auth_time <= after, "auth_time is the login: {}", first.claims);
    assert!(!first.id_token.is_empty() && !first.access_token.is_empty());

    // The code is single-use.
    let again = w.server.exchange(&w.client(), &code, Some(&req.verifier)).await;
    again.expect_oauth_error(400, "invalid_grant", "a replayed code");

    // The session cookie: HttpOnly, SameSite=Lax, scoped to the tenant.
    let cookie = w.session_cookie().await.expect("a session cookie after login");
    assert_eq!(cookie.http_only, Some(true), "HttpOnly session cookie");
    assert_eq!(cookie.same_site.as_deref(), Some("Lax"), "SameSite=Lax session cookie");
    assert_eq!(cookie.path, Some(format!("/t/{TENANT}/")), "cookie path is the tenant's");
    let visible =
        w.browser.client.execute("return document.cookie;", Vec::new()).await.expect("document.cookie");
    assert!(
        !visible.as_str().unwrap_or_default().contains("tessera_session"),
        "script cannot read the session"
    );

    // Single sign-on: no login page, no consent page, the same session.
    let sso = Request::new();
    w.browser.goto(&w.authorize_url(&sso, "openid profile", &[])).await;
    let code = w.code(3, &sso).await;
    assert!(!w.browser.has("#username").await && !w.browser.has("#allow").await);
    let second = w.exchange(&code, &sso).await;
    assert_eq!(second.claims["sid"], first.claims["sid"], "the same session");
    assert_eq!(second.claims["auth_time"], first.claims["auth_time"], "no new login");
    assert_ne!(second.access_token, first.access_token);

    // prompt=login forces the login page even with a session.
    let forced = Request::new();
    w.browser.goto(&w.authorize_url(&forced, "openid profile", &[("prompt", "login")])).await;
    w.browser.wait_for("#username").await;
    assert_eq!(w.rp.hits().len(), 3, "prompt=login does not go back to the client");

    w.browser.close().await;
    w.server.assert_alive();
}

/// `prompt=none` without a session answers `login_required` at the redirect URI (never a
/// page); with a session and consent it answers a code; for a scope not consented to yet,
/// `consent_required`.
#[tokio::test]
async fn prompt_none_with_and_without_a_session() {
    let w = World::new(false).await;

    let silent = Request::new();
    w.browser.goto(&w.authorize_url(&silent, "openid profile", &[("prompt", "none")])).await;
    assert_eq!(w.error(1, &silent).await, "login_required");

    let interactive = Request::new();
    w.browser.goto(&w.authorize_url(&interactive, "openid profile", &[])).await;
    w.sign_in(USERNAME, PASSWORD).await;
    w.browser.wait_for("#allow").await.click().await.expect("click #allow");
    let code = w.code(2, &interactive).await;
    let first = w.exchange(&code, &interactive).await;

    let silent = Request::new();
    w.browser.goto(&w.authorize_url(&silent, "openid profile", &[("prompt", "none")])).await;
    let code = w.code(3, &silent).await;
    let tokens = w.exchange(&code, &silent).await;
    assert_eq!(tokens.claims["sid"], first.claims["sid"], "the same session");

    let more = Request::new();
    w.browser.goto(&w.authorize_url(&more, "openid profile email", &[("prompt", "none")])).await;
    assert_eq!(w.error(4, &more).await, "consent_required");

    w.browser.close().await;
    w.server.assert_alive();
}

/// RP-Initiated Logout: with the ID token as `id_token_hint` and a registered
/// `post_logout_redirect_uri`, the session ends at once and the browser lands there with
/// `state`; the next authorization asks for a login again. Without a hint the end-user
/// confirms first.
#[tokio::test]
async fn logout_ends_the_session() {
    let w = World::new(true).await;
    let req = Request::new();
    let first = w.full_login(1, &req).await;
    assert!(w.session_cookie().await.is_some(), "signed in");

    let logout = Url::parse_with_params(
        &format!("{}/logout", w.issuer),
        &[
            ("id_token_hint", first.id_token.as_str()),
            ("post_logout_redirect_uri", &w.bye.url),
            ("state", "bye-1"),
        ],
    )
    .expect("logout URL");
    w.browser.goto(logout.as_str()).await;
    let params = w.bye.wait_for_hit(1).await;
    assert_eq!(param(&params, "state"), Some("bye-1"), "state comes back from logout: {params:?}");
    w.browser.wait_for_url("the post-logout redirect URI", |u| u.as_str().starts_with(&w.bye.url)).await;
    assert!(w.session_cookie().await.is_none(), "the session cookie is gone after logout");

    // Signed out: the next authorization shows the login page, and prompt=none fails.
    let silent = Request::new();
    w.browser.goto(&w.authorize_url(&silent, "openid profile", &[("prompt", "none")])).await;
    assert_eq!(w.error(2, &silent).await, "login_required");
    let next = Request::new();
    let second = w.full_login(3, &next).await;
    assert_ne!(second.claims["sid"], first.claims["sid"], "a new session after signing in again");

    // The first ID token names the old session: it no longer signs the browser out
    // silently, and neither does a request without a hint; the end-user is asked first.
    let stale = Url::parse_with_params(
        &format!("{}/logout", w.issuer),
        &[
            ("id_token_hint", first.id_token.as_str()),
            ("post_logout_redirect_uri", &w.bye.url),
            ("state", "x"),
        ],
    )
    .expect("logout URL");
    w.browser.goto(stale.as_str()).await;
    w.browser.wait_for("#confirm-logout").await;
    assert!(w.session_cookie().await.is_some(), "still signed in after a stale id_token_hint");
    let logout = Url::parse_with_params(
        &format!("{}/logout", w.issuer),
        &[("client_id", w.client_id.as_str()), ("post_logout_redirect_uri", &w.bye.url), ("state", "bye-2")],
    )
    .expect("logout URL");
    w.browser.goto(logout.as_str()).await;
    w.browser.wait_for("#confirm-logout").await;
    assert_eq!(w.bye.hits().len(), 1, "no redirect before the end-user confirms");
    let silent = Request::new();
    w.browser.wait_for("#confirm-logout").await.click().await.expect("click #confirm-logout");
    let params = w.bye.wait_for_hit(2).await;
    assert_eq!(param(&params, "state"), Some("bye-2"), "state comes back from logout: {params:?}");
    w.browser.goto(&w.authorize_url(&silent, "openid profile", &[("prompt", "none")])).await;
    assert_eq!(w.error(4, &silent).await, "login_required");

    w.browser.close().await;
    w.server.assert_alive();
}

/// A wrong password and an unknown username get the same generic message in `#error`, the
/// password is never echoed back, and the whole form works by keyboard: the username field
/// has the focus, Tab moves to the password, Enter submits.
#[tokio::test]
async fn wrong_password_and_keyboard_only_login() {
    let w = World::new(true).await;
    let req = Request::new();
    w.browser.goto(&w.authorize_url(&req, "openid profile", &[])).await;
    w.browser.wait_for("#login").await;
    assert_eq!(w.browser.focused_id().await, "username", "the username field has the focus");

    let tab: char = Key::Tab.into();
    let enter: char = Key::Enter.into();
    w.browser.type_keys(USERNAME).await;
    w.browser.type_keys(&tab.to_string()).await;
    assert_eq!(w.browser.focused_id().await, "password", "Tab moves to the password");
    w.browser.mark_page().await;
    w.browser.type_keys(&format!("not the password{enter}")).await;
    w.browser.wait_for_new_page("a wrong password").await;

    let error = w.browser.wait_for("#error").await;
    assert_eq!(error.text().await.expect("#error text").trim(), INCORRECT, "the generic message");
    assert_eq!(error.attr("role").await.expect("role").as_deref(), Some("alert"), "announced as an alert");
    assert_eq!(w.browser.value("#username").await, USERNAME, "the username stays filled in");
    assert_eq!(w.browser.value("#password").await, "", "the password is not echoed back");
    assert!(!w.browser.source().await.contains("not the password"), "the password is nowhere in the page");
    assert_eq!(w.browser.focused_id().await, "password", "the focus is on the password to retry");
    assert!(w.rp.hits().is_empty(), "a failed login sends nothing to the client");

    // An unknown username gets exactly the same message.
    let field = w.browser.wait_for("#username").await;
    field.clear().await.expect("clear #username");
    field.send_keys("nobody-here").await.expect("type a username");
    w.browser.mark_page().await;
    w.browser.wait_for("#password").await.send_keys(&format!("whatever it is{enter}")).await.expect("type");
    w.browser.wait_for_new_page("an unknown username").await;
    assert_eq!(w.browser.text("#error").await.trim(), INCORRECT, "the same message for an unknown user");

    // By keyboard again, with the right password: back at the client with a code.
    let field = w.browser.wait_for("#username").await;
    field.clear().await.expect("clear #username");
    field.send_keys(USERNAME).await.expect("type the username");
    field.send_keys(&tab.to_string()).await.expect("Tab");
    assert_eq!(w.browser.focused_id().await, "password", "Tab moves to the password");
    w.browser.type_keys(&format!("{PASSWORD}{enter}")).await;
    let code = w.code(1, &req).await;
    w.exchange(&code, &req).await;

    w.browser.close().await;
    w.server.assert_alive();
}
