//! The end-user side without a browser: an [`EndUser`] keeps a browser's cookies for one tenant
//! and drives `/authorize`, the login and consent forms and the logout pages over HTTP with
//! redirects off; the page and redirect checks every flow makes ([`expect_page`],
//! [`redirect_params`]); and the back-channel steps that follow a login (`exchange`, `refresh`,
//! `userinfo`, ID token verification) for a code-flow [`Client`].

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use super::http::Reply;
use super::jwt;
use super::process::TestServer;
use super::values::{basic_auth, form_body, random_string};

/// The session cookie's name when the public URL is http.
pub const SESSION_COOKIE: &str = "tessera_session";
/// The CSRF pre-session cookie's name when the public URL is http.
pub const CSRF_COOKIE: &str = "tessera_csrf";

/// The names of `tenant`'s session and CSRF cookies at `server`: behind an https public URL
/// `__Host-` names that hold the tenant, else [`SESSION_COOKIE`] and [`CSRF_COOKIE`].
pub fn cookie_names(server: &TestServer, tenant: &str) -> (String, String) {
    if server.public_url.starts_with("https://") {
        (format!("__Host-tessera-session-{tenant}"), format!("__Host-tessera-csrf-{tenant}"))
    } else {
        (SESSION_COOKIE.to_owned(), CSRF_COOKIE.to_owned())
    }
}
const FORM: &str = "application/x-www-form-urlencoded";

/// The value of the hidden input `name` in an HTML page, with the entities a template escapes
/// decoded.
#[track_caller]
pub fn hidden_input(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start =
        html.find(&marker).unwrap_or_else(|| panic!("no field {name} in page:\n{html}")) + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end]
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A fresh PKCE verifier and its S256 challenge (RFC 7636 4.1-4.2).
pub fn pkce_pair() -> (String, String) {
    use sha2::Digest;
    let verifier = format!("{}{}", random_string(), random_string());
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// A `Set-Cookie` header split into its name, value and attributes.
#[derive(Debug)]
pub struct SetCookie {
    /// The cookie's name.
    pub name: String,
    /// Its value (empty when the header expires it).
    pub value: String,
    /// The attributes after the value, trimmed (`HttpOnly`, `Max-Age=0`, ...).
    pub attrs: Vec<String>,
}

impl SetCookie {
    /// Whether the cookie carries attribute `attr` (case-insensitive, `Name=value` whole).
    pub fn has(&self, attr: &str) -> bool {
        self.attrs.iter().any(|a| a.eq_ignore_ascii_case(attr))
    }
}

/// Every `Set-Cookie` header of `reply`, parsed; each must be ASCII `name=value[; attrs]`.
#[track_caller]
pub fn set_cookies(reply: &Reply) -> Vec<SetCookie> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| {
            let text = v.to_str().expect("ASCII Set-Cookie");
            let mut parts = text.split(';').map(str::trim);
            let (name, value) = parts.next().and_then(|p| p.split_once('=')).expect("name=value");
            SetCookie { name: name.into(), value: value.into(), attrs: parts.map(str::to_owned).collect() }
        })
        .collect()
}

/// The cookie `name` among `cookies`.
pub fn set_cookie<'r>(cookies: &'r [SetCookie], name: &str) -> Option<&'r SetCookie> {
    cookies.iter().find(|c| c.name == name)
}

/// The value of cookie `name` set (non-empty) by a `Set-Cookie` header of `reply`.
pub fn set_cookie_value(reply: &Reply, name: &str) -> Option<String> {
    set_cookies(reply).into_iter().find(|c| c.name == name && !c.value.is_empty()).map(|c| c.value)
}

/// Asserts an HTML page of the end-user side with `status`: the headers every page carries
/// (no caching, no framing, no referrer, a strict CSP), an HTML body, and no `Location`.
#[track_caller]
pub fn expect_page(reply: &Reply, status: u16, what: &str) {
    reply.expect_status(status, what);
    assert_eq!(reply.header("content-type"), Some("text/html; charset=utf-8"), "{what}: a page");
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
    assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(reply.header("referrer-policy"), Some("no-referrer"), "{what}");
    let csp = reply.header("content-security-policy").expect("CSP");
    for part in ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"] {
        assert!(csp.contains(part), "{what}: CSP {csp} lacks {part}");
    }
    assert!(reply.text.contains("<html"), "{what}: an HTML body: {}", reply.text);
    assert!(reply.header("location").is_none(), "{what}: a page never redirects");
}

/// Whether `reply` is the login page.
pub fn is_login_page(reply: &Reply) -> bool {
    reply.status.as_u16() == 200 && reply.text.contains("id=\"password\"")
}

/// Whether `reply` is the consent page.
pub fn is_consent_page(reply: &Reply) -> bool {
    reply.status.as_u16() == 200 && reply.text.contains("id=\"allow\"")
}

/// The parameters of a code request for `client_id` to `redirect_uri` (scope `openid
/// profile`, state `st-1`); an entry of `extra` replaces the default of the same name (a
/// repeat would be refused), the others are added.
pub fn code_request<'p>(
    client_id: &'p str,
    redirect_uri: &'p str,
    extra: &[(&'p str, &'p str)],
) -> Vec<(&'p str, &'p str)> {
    let mut p = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", redirect_uri),
        ("scope", "openid profile"),
        ("state", "st-1"),
    ];
    for &(name, value) in extra {
        match p.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => p.push((name, value)),
        }
    }
    p
}

/// Asserts the login page: a page (see [`expect_page`]) with status 200 and the password field.
#[track_caller]
pub fn expect_login_page(reply: &Reply, what: &str) {
    expect_page(reply, 200, what);
    assert!(is_login_page(reply), "{what}: login page expected: {}", reply.text);
}

/// Where a redirect carries its parameters (OAuth 2.0 Multiple Response Type Encoding
/// Practices: `query` for codes, `fragment` when tokens travel in the front channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    /// After `?`.
    Query,
    /// After `#`.
    Fragment,
}

/// Asserts a 303 to `base` (its parameters after `?` or `#`) with `Cache-Control: no-store`, and
/// returns its parameters, decoded.
#[track_caller]
pub fn redirect_params(reply: &Reply, base: &str, what: &str) -> BTreeMap<String, String> {
    redirect_params_at(reply, base, None, what)
}

/// [`redirect_params`] that also asserts where the parameters travel.
#[track_caller]
pub fn redirect_params_in(
    reply: &Reply,
    base: &str,
    carrier: Carrier,
    what: &str,
) -> BTreeMap<String, String> {
    redirect_params_at(reply, base, Some(carrier), what)
}

#[track_caller]
fn redirect_params_at(
    reply: &Reply,
    base: &str,
    carrier: Option<Carrier>,
    what: &str,
) -> BTreeMap<String, String> {
    assert_eq!(reply.status.as_u16(), 303, "{what}: expected a redirect; body: {}", reply.text);
    let location = reply.header("location").expect("Location");
    reqwest::Url::parse(location).unwrap_or_else(|e| panic!("{what}: Location {location} is not a URL: {e}"));
    let rest =
        location.strip_prefix(base).unwrap_or_else(|| panic!("{what}: redirect to {location}, not {base}"));
    let found = match rest.chars().next() {
        Some('?') => Carrier::Query,
        Some('#') => Carrier::Fragment,
        _ => panic!("{what}: no parameters after {base} in {location}"),
    };
    if let Some(carrier) = carrier {
        assert_eq!(found, carrier, "{what}: parameters in the wrong place: {location}");
    }
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}: Cache-Control");
    rest[1..]
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (percent_decode(k, what), percent_decode(v, what)))
        .collect()
}

/// Decodes one `application/x-www-form-urlencoded` name or value strictly: a `%` not followed
/// by two hex digits, or bytes that are not UTF-8, fail the test (the server must encode
/// what it sends back correctly).
#[track_caller]
fn percent_decode(s: &str, what: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3).unwrap_or_else(|| panic!("{what}: truncated escape in {s}"));
                out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("{what}: bad escape in {s}")));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| panic!("{what}: {s} decodes to bytes that are not UTF-8"))
}

/// A confidential or public code-flow client as the end-user helpers use it.
#[derive(Clone, Debug)]
pub struct Client {
    /// Its tenant.
    pub tenant: String,
    /// `client_id`.
    pub id: String,
    /// `client_secret`; empty for a public client (`token_endpoint_auth_method` `none`).
    pub secret: String,
    /// The redirect URI its requests use.
    pub redirect_uri: String,
}

impl Client {
    /// A client of `tenant` with `id`, `secret` and `redirect_uri`.
    pub fn new(tenant: &str, (id, secret): (String, String), redirect_uri: &str) -> Self {
        Self { tenant: tenant.to_owned(), id, secret, redirect_uri: redirect_uri.to_owned() }
    }

    /// Registers a first-party confidential code-flow client "Notes" of `tenant` that may
    /// refresh, with `redirect_uri`, `scope` and `extra` metadata (which wins).
    pub async fn register_first_party(
        server: &TestServer,
        tenant: &str,
        redirect_uri: &str,
        scope: &str,
        extra: Value,
    ) -> Self {
        let body = json!({
            "client_name": "Notes",
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": [redirect_uri],
            "scope": scope,
            "first_party": true,
        });
        let created = server.create_client(tenant, super::with_extra(body, extra)).await;
        Self::new(tenant, created, redirect_uri)
    }
}

/// A filled-in form, owning its values: for tests that post it more than once, with other
/// headers or at another tenant.
#[derive(Clone, Debug)]
pub struct FormFields(Vec<(&'static str, String)>);

impl FormFields {
    /// The fields as `post` and `post_with` take them.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.0.iter().map(|(name, value)| (*name, value.as_str())).collect()
    }
}

/// The login form of `page` (its `csrf` and `request` fields) filled in with `username` and
/// `password`, as a browser would post it.
pub fn login_form(page: &Reply, username: &str, password: &str) -> FormFields {
    FormFields(vec![
        ("csrf", hidden_input(&page.text, "csrf")),
        ("request", hidden_input(&page.text, "request")),
        ("username", username.to_owned()),
        ("password", password.to_owned()),
    ])
}

/// A code with the PKCE verifier and nonce of its request.
#[derive(Debug)]
pub struct Code {
    /// The authorization code.
    pub code: String,
    /// The PKCE S256 verifier of the request.
    pub verifier: String,
    /// The request's nonce.
    pub nonce: String,
}

/// What a browser keeps between requests to one tenant: its cookies, by name. Requests go with
/// redirects off, so every step can be checked.
pub struct EndUser<'s> {
    server: &'s TestServer,
    tenant: String,
    /// The cookies, by name (tests may copy a jar, or plant an old cookie, to replay it).
    pub jar: BTreeMap<String, String>,
    /// Its own HTTP client when it plays another address than 127.0.0.1.
    http: Option<reqwest::Client>,
}

impl<'s> EndUser<'s> {
    /// A browser with no cookies, for `tenant`.
    pub fn new(server: &'s TestServer, tenant: &str) -> Self {
        Self { server, tenant: tenant.to_owned(), jar: BTreeMap::new(), http: None }
    }

    /// A browser with no cookies, for `tenant`, connecting from `source` (a loopback address
    /// such as 127.0.0.2), as a user elsewhere would.
    pub fn from_address(server: &'s TestServer, tenant: &str, source: std::net::IpAddr) -> Self {
        Self { http: Some(server.http_client_from(source)), ..Self::new(server, tenant) }
    }

    /// Whether the browser holds a session cookie of its tenant.
    pub fn has_session(&self) -> bool {
        self.jar.contains_key(&self.session_cookie())
    }

    /// The name of its tenant's session cookie (see [`cookie_names`]).
    pub fn session_cookie(&self) -> String {
        cookie_names(self.server, &self.tenant).0
    }

    /// The name of its tenant's CSRF pre-session cookie (see [`cookie_names`]).
    pub fn csrf_cookie(&self) -> String {
        cookie_names(self.server, &self.tenant).1
    }

    /// Sends a request to `path` (relative to the server) with the jar's cookies and
    /// `content_type` (when given), and keeps the cookies it sets (an expired one leaves).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        self.send_with_headers(method, path, &[], content_type, body).await
    }

    /// [`send`](Self::send) with `extra` headers too (`Origin`, `Sec-Fetch-Site`, ...).
    pub async fn send_with_headers(
        &mut self,
        method: Method,
        path: &str,
        extra: &[(&str, &str)],
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let cookie = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut headers = extra.to_vec();
        if !cookie.is_empty() {
            headers.push(("cookie", cookie.as_str()));
        }
        if let Some(ct) = content_type {
            headers.push(("content-type", ct));
        }
        let reply = match &self.http {
            Some(http) => self.server.send_with(http, method, path, &headers, body).await,
            None => self.server.send(method, path, &headers, body).await,
        };
        for c in set_cookies(&reply) {
            if c.has("Max-Age=0") {
                self.jar.remove(&c.name);
            } else {
                self.jar.insert(c.name, c.value);
            }
        }
        reply
    }

    /// `GET /t/{tenant}/{path_and_query}`.
    pub async fn get(&mut self, path_and_query: &str) -> Reply {
        let path = format!("/t/{}/{path_and_query}", self.tenant);
        self.send(Method::GET, &path, None, None).await
    }

    /// A form `POST` to `/t/{tenant}/{endpoint}`.
    pub async fn post(&mut self, endpoint: &str, fields: &[(&str, &str)]) -> Reply {
        let path = format!("/t/{}/{endpoint}", self.tenant);
        self.send(Method::POST, &path, Some(FORM), Some(form_body(fields).into_bytes())).await
    }

    /// A form `POST` to `/t/{tenant}/{endpoint}` with `extra` headers.
    pub async fn post_with(
        &mut self,
        endpoint: &str,
        fields: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> Reply {
        let path = format!("/t/{}/{endpoint}", self.tenant);
        let body = Some(form_body(fields).into_bytes());
        self.send_with_headers(Method::POST, &path, extra, Some(FORM), body).await
    }

    /// `GET /authorize` with `params`.
    pub async fn authorize(&mut self, params: &[(&str, &str)]) -> Reply {
        self.get(&format!("authorize?{}", form_body(params))).await
    }

    /// Submits the login form of `page`.
    pub async fn login(&mut self, page: &Reply, username: &str, password: &str) -> Reply {
        self.post("login", &login_form(page, username, password).pairs()).await
    }

    /// Submits the consent form of `page` with `decision`.
    pub async fn consent(&mut self, page: &Reply, decision: &str) -> Reply {
        let (csrf, request) = (hidden_input(&page.text, "csrf"), hidden_input(&page.text, "request"));
        self.post("consent", &[("csrf", &csrf), ("request", &request), ("decision", decision)]).await
    }

    /// Sends an authorization request that must show the login page, checks the page (see
    /// [`expect_login_page`]; the browser holds a CSRF pre-session cookie, and the form's token
    /// is an HMAC, not a copy of it), logs in
    /// and checks that the login set a session cookie. Returns the answer to the login: the
    /// redirect to the client, or the consent page.
    pub async fn sign_in(&mut self, params: &[(&str, &str)], username: &str, password: &str) -> Reply {
        let page = self.authorize(params).await;
        expect_login_page(&page, "login page");
        let pre_session = self.jar.get(&self.csrf_cookie()).expect("a CSRF pre-session cookie").clone();
        let token = hidden_input(&page.text, "csrf");
        assert_eq!(token.len(), 43, "a 256-bit token: {token}");
        assert_ne!(token, pre_session, "the CSRF field is bound to the cookie, not a copy of it");
        let reply = self.login(&page, username, password).await;
        let session = self.session_cookie();
        assert!(set_cookie_value(&reply, &session).is_some(), "session cookie after login: {reply:?}");
        reply
    }

    /// A code from the request `params` (`response_type=code`), signing in as `username` when
    /// the browser has no session or the server asks for a login. Asserts the redirect to
    /// `redirect_uri` with the parameters in the query, without `error`, with the request's
    /// `state` and the issuer as `iss` (RFC 9207).
    pub async fn code(
        &mut self,
        redirect_uri: &str,
        params: &[(&str, &str)],
        username: &str,
        password: &str,
    ) -> String {
        let reply = if self.has_session() {
            let reply = self.authorize(params).await;
            if is_login_page(&reply) { self.login(&reply, username, password).await } else { reply }
        } else {
            self.sign_in(params, username, password).await
        };
        let p = redirect_params_in(&reply, redirect_uri, Carrier::Query, "code");
        assert_eq!(p.get("error"), None, "no error: {p:?}");
        let state = params.iter().find(|(n, _)| *n == "state").map(|(_, v)| *v);
        assert_eq!(p.get("state").map(String::as_str), state, "state comes back");
        assert_eq!(p.get("iss"), Some(&self.server.issuer(&self.tenant)), "RFC 9207 iss");
        p.get("code").filter(|c| !c.is_empty()).unwrap_or_else(|| panic!("a code: {p:?}")).clone()
    }

    /// A code for `client` and `scope` with a fresh PKCE S256 pair, a fresh nonce and state
    /// `st-1`, as [`code`](Self::code).
    pub async fn pkce_code(&mut self, client: &Client, scope: &str, username: &str, password: &str) -> Code {
        let (verifier, challenge) = pkce_pair();
        let nonce = random_string();
        let params = [
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("scope", scope),
            ("state", "st-1"),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        assert_eq!(client.tenant, self.tenant, "a browser for the client's tenant");
        let code = self.code(&client.redirect_uri, &params, username, password).await;
        Code { code, verifier, nonce }
    }

    /// A [`pkce_code`](Self::pkce_code) exchanged at once: asserts 200 and returns the token
    /// response.
    pub async fn tokens(&mut self, client: &Client, scope: &str, username: &str, password: &str) -> Value {
        let code = self.pkce_code(client, scope, username, password).await;
        let reply = self.server.exchange(client, &code.code, Some(&code.verifier)).await;
        reply.expect_status(200, "code exchange");
        reply.json
    }
}

impl TestServer {
    /// The `authorization_code` grant at `client`'s tenant, with its redirect URI and, when
    /// given, `code_verifier`: `client_secret_basic` for a confidential client, `client_id` in
    /// the form for a public one.
    pub async fn exchange(&self, client: &Client, code: &str, verifier: Option<&str>) -> Reply {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &client.redirect_uri),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        self.token_as(client, form).await
    }

    /// The `refresh_token` grant for `client`, with `scope` when given.
    pub async fn refresh(&self, client: &Client, token: &str, scope: Option<&str>) -> Reply {
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.token_as(client, form).await
    }

    async fn token_as(&self, client: &Client, mut form: Vec<(&str, &str)>) -> Reply {
        if client.secret.is_empty() {
            form.push(("client_id", &client.id));
            self.post_form(&client.tenant, "token", None, &form_body(&form)).await
        } else {
            let auth = basic_auth(&client.id, &client.secret);
            self.post_form(&client.tenant, "token", Some(&auth), &form_body(&form)).await
        }
    }

    /// `GET /t/{tenant}/userinfo` with `access_token` as a bearer token (RFC 6750 2.1).
    pub async fn userinfo(&self, tenant: &str, access_token: &str) -> Reply {
        let auth = format!("Bearer {access_token}");
        self.send(Method::GET, &format!("/t/{tenant}/userinfo"), &[("authorization", &auth)], None).await
    }

    /// Verifies an ID token for `client` against the tenant's served JWKS (asserting 200) with
    /// [`jwt::verify_id_token`]; returns the claims.
    pub async fn verify_id_token(&self, client: &Client, token: &str, alg: &str) -> Value {
        let jwks = self.jwks(&client.tenant).await;
        jwks.expect_status(200, "jwks");
        jwt::verify_id_token(token, &jwks.json, alg, &self.issuer(&client.tenant), &client.id)
    }
}
