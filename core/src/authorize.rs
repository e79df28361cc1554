//! The authorization request (RFC 6749 4.1.1, OpenID Connect Core 3.1.2.1, 3.2.2.1, 3.3.2.1)
//! and the redirect that answers it.
//!
//! The rule that shapes this module: an error goes back to the client's redirect URI only once
//! the client is known and the URI is one it registered (RFC 6749 4.1.2.1, 10.15). Before that
//! the error is [`AuthorizeError::Fatal`] and the server shows a page: redirecting to an
//! unchecked URI would make Tessera an open redirector. [`validate`] therefore checks
//! `client_id` and `redirect_uri` first and everything else after.

use crate::error::{OAuthError, Reason};
use crate::form::Form;
use crate::model::{Client, GrantType, TokenEndpointAuthMethod};
pub use crate::pkce::CodeChallenge;
use crate::pkce::{self, CodeChallengeMethod};
use crate::scope;

/// Longest `nonce` kept: it is copied into the code record and the ID token.
pub const MAX_NONCE_BYTES: usize = 512;

/// The parts of a `response_type` (OAuth 2.0 Multiple Response Type Encoding Practices): the
/// value is a set, so `token id_token` and `id_token token` are the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResponseType {
    /// Returns an authorization code.
    pub code: bool,
    /// Returns an ID token.
    pub id_token: bool,
    /// Returns an access token.
    pub token: bool,
}

impl ResponseType {
    /// `code`: the authorization code flow.
    pub const CODE: Self = Self { code: true, id_token: false, token: false };

    /// Parses a space-separated set of `code`, `id_token` and `token`. `None` for anything else,
    /// a repeated part, or bare `token` (the OAuth 2.0 implicit grant, which OAuth 2.1 drops and
    /// Tessera does not offer).
    pub fn parse(s: &str) -> Option<Self> {
        let mut rt = Self { code: false, id_token: false, token: false };
        for part in s.split(' ').filter(|p| !p.is_empty()) {
            let slot = match part {
                "code" => &mut rt.code,
                "id_token" => &mut rt.id_token,
                "token" => &mut rt.token,
                _ => return None,
            };
            if *slot {
                return None;
            }
            *slot = true;
        }
        let bare_token = rt.token && !rt.code && !rt.id_token;
        if bare_token || !(rt.code || rt.id_token) { None } else { Some(rt) }
    }

    /// Whether tokens travel in the redirect itself (implicit and hybrid): such responses must
    /// never go in a query string, which ends up in logs and `Referer` headers.
    pub fn returns_tokens(self) -> bool {
        self.id_token || self.token
    }

    /// The response mode used when the request names none (OAuth 2.0 Multiple Response Type
    /// Encoding Practices 2.1, 3): `query` for `code`, `fragment` otherwise.
    pub fn default_mode(self) -> ResponseMode {
        if self.returns_tokens() { ResponseMode::Fragment } else { ResponseMode::Query }
    }

    /// The grant types a client must be registered for to use this response type (RFC 7591
    /// 2.1): `code` needs `authorization_code`; `id_token` and `token` need `implicit`.
    pub fn grants(self) -> impl Iterator<Item = GrantType> {
        [(self.code, GrantType::AuthorizationCode), (self.id_token || self.token, GrantType::Implicit)]
            .into_iter()
            .filter_map(|(needed, grant)| needed.then_some(grant))
    }

    /// Whether `client` may use this response type. `code` needs the authorization code grant;
    /// implicit and hybrid types are off unless the client registered exactly this type. The
    /// `implicit` grant is not asked for here: registration has required it of these types
    /// only since clients could register it ([`crate::registration`]), and a client stored
    /// before keeps the flows it registered.
    pub fn allowed_for(self, client: &Client) -> bool {
        if self.code && !client.allows_grant(GrantType::AuthorizationCode) {
            return false;
        }
        if self == Self::CODE {
            return true;
        }
        client.response_types.iter().any(|r| Self::parse(r) == Some(self))
    }
}

/// How the response parameters travel back (OAuth 2.0 Multiple Response Type Encoding
/// Practices 2.1; OAuth 2.0 Form Post Response Mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseMode {
    /// In the query string of the redirect URI.
    Query,
    /// In the fragment of the redirect URI.
    Fragment,
    /// In an auto-submitting HTML form posted to the redirect URI.
    FormPost,
}

impl ResponseMode {
    /// The `response_mode` wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Fragment => "fragment",
            Self::FormPost => "form_post",
        }
    }

    /// Parses a `response_mode` value.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Query, Self::Fragment, Self::FormPost].into_iter().find(|m| m.as_str() == s)
    }
}

/// The `prompt` values (OpenID Connect Core 3.1.2.1). `none` stands alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Prompt {
    /// No interaction: fail with `login_required` etc. instead of showing a page.
    pub none: bool,
    /// Force a fresh login.
    pub login: bool,
    /// Ask for consent even if it was given before.
    pub consent: bool,
    /// Let the end-user choose an account.
    pub select_account: bool,
}

impl Prompt {
    /// Parses a space-separated `prompt` value.
    pub fn parse(s: &str) -> Result<Self, OAuthError> {
        let mut p = Self::default();
        for part in s.split(' ').filter(|p| !p.is_empty()) {
            match part {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                "select_account" => p.select_account = true,
                _ => {
                    return Err(OAuthError::new(
                        Reason::MalformedParameter,
                        "prompt may only contain none, login, consent and select_account",
                    ));
                }
            }
        }
        if p.none && (p.login || p.consent || p.select_account) {
            return Err(OAuthError::new(Reason::PromptNoneCombined, "prompt=none must stand alone"));
        }
        Ok(p)
    }
}

/// A valid authorization request: everything the login, consent and code-issuing steps need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// The redirect URI the response goes to: sent, or the client's only registered one.
    pub redirect_uri: String,
    /// Whether `redirect_uri` was sent: then the token request must repeat it (RFC 6749 4.1.3).
    pub redirect_uri_sent: bool,
    /// The response type.
    pub response_type: ResponseType,
    /// How the response travels.
    pub response_mode: ResponseMode,
    /// The scope to grant, space-delimited, within the client's registered scope.
    pub scope: String,
    /// Whether this is an OpenID Connect request (`openid` requested): only then is an ID
    /// token issued.
    pub openid: bool,
    /// Opaque client state, echoed in the response.
    pub state: Option<String>,
    /// Replay protection, echoed in the ID token.
    pub nonce: Option<String>,
    /// The PKCE challenge, if any.
    pub code_challenge: Option<CodeChallenge>,
    /// The `prompt` values.
    pub prompt: Prompt,
    /// Maximum age of the end-user's authentication, in seconds.
    pub max_age_secs: Option<u64>,
    /// A hint about the login identifier.
    pub login_hint: Option<String>,
    /// The id of the tenant's identity provider to sign in with, skipping the login page
    /// (`idp_hint`, as Keycloak and others name it). An unknown id is ignored: the login page
    /// is shown as without it.
    pub idp_hint: Option<String>,
    /// Requested authentication context classes, space-separated, in order of preference.
    pub acr_values: Option<String>,
    /// Preferred languages for the pages, space-separated BCP 47 tags.
    pub ui_locales: Option<String>,
    /// The RFC 8707 `resource`: an absolute URI without a fragment, checked against the
    /// tenant's APIs by [`for_api`].
    pub resource: Option<String>,
}

/// Why an authorization request failed, and where the answer may go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or the redirect URI cannot be trusted: show an error page, never redirect.
    Fatal(OAuthError),
    /// The client and redirect URI are valid: send the error to the client.
    Redirect {
        /// The validated redirect URI.
        redirect_uri: String,
        /// How to send it.
        response_mode: ResponseMode,
        /// The request's `state`, echoed.
        state: Option<String>,
        /// The error.
        error: OAuthError,
    },
}

impl AuthorizeError {
    /// The error, wherever it goes.
    pub fn error(&self) -> &OAuthError {
        match self {
            Self::Fatal(error) | Self::Redirect { error, .. } => error,
        }
    }

    /// The redirect carrying this error, or `None` for a fatal error (show a page instead).
    pub fn redirect(&self, issuer: &str) -> Option<Response> {
        match self {
            Self::Fatal(_) => None,
            Self::Redirect { redirect_uri, response_mode, state, error } => {
                let mut params = vec![("error", error.code().as_str())];
                if !error.description.is_empty() {
                    params.push(("error_description", error.description.as_str()));
                }
                Some(response(redirect_uri, *response_mode, &params, state.as_deref(), issuer))
            }
        }
    }
}

/// The `client_id` of a request, for the server to look the client up with. A request whose
/// form could not even be parsed, or that names no client, is fatal.
pub fn client_id<'a>(form: &'a Form<'_>) -> Result<&'a str, AuthorizeError> {
    form.require("client_id").map_err(AuthorizeError::Fatal)
}

/// Validates an authorization request. `client` is the client `client_id` names in the tenant,
/// or `None` when it is unknown.
pub fn validate(form: &Form<'_>, client: Option<&Client>) -> Result<AuthorizationRequest, AuthorizeError> {
    // Phase 1: establish trust in the client and the redirect URI. Every error here is fatal.
    let client_id = client_id(form)?;
    let client = match client {
        Some(c) if c.client_id == client_id => c,
        _ => return Err(AuthorizeError::Fatal(OAuthError::new(Reason::UnknownClient, "unknown client"))),
    };
    let openid = form.get("scope").is_some_and(|s| scope::contains(s, scope::OPENID));
    let (redirect_uri, redirect_uri_sent) = match form.get("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => (uri.to_owned(), true),
        Some(_) => {
            return Err(AuthorizeError::Fatal(OAuthError::new(
                Reason::RedirectUriNotRegistered,
                "redirect_uri is not registered for this client",
            )));
        }
        // RFC 6749 3.1.2.3 lets a client with one registered URI omit it; OpenID Connect Core
        // 3.1.2.1 makes it REQUIRED, so an OpenID request must always send it.
        None => match client.redirect_uris.as_slice() {
            [only] if !openid => (only.clone(), false),
            _ => {
                return Err(AuthorizeError::Fatal(OAuthError::new(
                    Reason::MissingParameter,
                    "parameter `redirect_uri` is required",
                )));
            }
        },
    };

    // Phase 2: the redirect URI is trusted; errors go back to it. The mode of an error answer
    // is the requested one when usable, else the response type's default, else query.
    let response_type = form.get("response_type").and_then(ResponseType::parse);
    let requested_mode = form.get("response_mode").and_then(ResponseMode::parse);
    let error_mode = match (response_type, requested_mode) {
        (Some(rt), Some(ResponseMode::Query)) if rt.returns_tokens() => rt.default_mode(),
        (_, Some(mode)) => mode,
        (Some(rt), None) => rt.default_mode(),
        (None, None) => ResponseMode::Query,
    };
    let redirect = |error: OAuthError| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        response_mode: error_mode,
        state: form.get("state").map(str::to_owned),
        error,
    };
    validate_trusted(form, client, openid).map_err(redirect).map(|mut req| {
        req.redirect_uri = redirect_uri.clone();
        req.redirect_uri_sent = redirect_uri_sent;
        req
    })
}

/// The answer to an authorization request that repeats parameters (`repeated`, from
/// [`Form::parse_first`], whose `form` holds the first value of each). RFC 6749 3.1 forbids
/// repeats, and 4.1.2.1 names "includes a parameter more than once" among the `invalid_request`
/// errors sent back to the client. That needs a trusted redirect URI, so a repeated `client_id`
/// or `redirect_uri`, or one that fails the usual checks, is fatal. A repeated `state` is not
/// echoed: no single value was received.
pub fn repeated_parameter(form: &Form<'_>, client: Option<&Client>, repeated: &[String]) -> AuthorizeError {
    let name = repeated.first().map_or("", String::as_str);
    let error = if repeated.iter().any(|r| r == "resource") {
        // RFC 8707 2 allows several resources; Tessera issues a token for one API at a time
        // and says so in the RFC's own terms, as the token endpoint does.
        OAuthError::new(Reason::MalformedResource, "one resource per request")
    } else {
        OAuthError::new(Reason::RepeatedParameter, crate::form::repeated_description(name))
    };
    if repeated.iter().any(|r| r == "client_id" || r == "redirect_uri") {
        return AuthorizeError::Fatal(error);
    }
    let state_repeated = repeated.iter().any(|r| r == "state");
    let (redirect_uri, response_mode, state) = match validate(form, client) {
        Err(AuthorizeError::Fatal(fatal)) => return AuthorizeError::Fatal(fatal),
        Err(AuthorizeError::Redirect { redirect_uri, response_mode, state, .. }) => {
            (redirect_uri, response_mode, state)
        }
        Ok(req) => (req.redirect_uri, req.response_mode, req.state),
    };
    let state = state.filter(|_| !state_repeated);
    AuthorizeError::Redirect { redirect_uri, response_mode, state, error }
}

/// The checks after the redirect URI is trusted. Returns a request whose `redirect_uri` the
/// caller fills in.
fn validate_trusted(
    form: &Form<'_>,
    client: &Client,
    openid: bool,
) -> Result<AuthorizationRequest, OAuthError> {
    // OpenID Connect Core 6: request objects are not supported (discovery says so too).
    if form.get("request").is_some() {
        return Err(OAuthError::new(Reason::RequestObjectNotSupported, "request objects are not supported"));
    }
    if form.get("request_uri").is_some() {
        return Err(OAuthError::new(Reason::RequestUriNotSupported, "request_uri is not supported"));
    }

    let response_type = ResponseType::parse(form.require("response_type")?)
        .ok_or_else(|| OAuthError::new(Reason::UnsupportedResponseType, "response_type is not supported"))?;
    if !response_type.allowed_for(client) {
        return Err(OAuthError::new(
            Reason::ResponseTypeNotAllowed,
            "the client is not registered for this response_type",
        ));
    }

    let response_mode = match form.get("response_mode") {
        None => response_type.default_mode(),
        Some(m) => ResponseMode::parse(m).ok_or_else(|| {
            OAuthError::new(Reason::UnsupportedResponseMode, "response_mode is not supported")
        })?,
    };
    if response_mode == ResponseMode::Query && response_type.returns_tokens() {
        return Err(OAuthError::new(
            Reason::ResponseModeNotAllowed,
            "response_mode=query may not carry tokens",
        ));
    }

    let scope = match form.get("scope") {
        Some(requested) => scope::grant(Some(requested), &client.scope)?,
        // RFC 6749 3.3 lets the server pick a default, but a request without `openid` is not an
        // OpenID Connect request (Core 3.1.2.1), so the default never turns it into one.
        None => client.scope.iter().filter(|s| *s != "openid").cloned().collect::<Vec<_>>().join(" "),
    };
    if response_type.id_token && !openid {
        return Err(OAuthError::new(Reason::OpenidScopeMissing, "an ID token requires the openid scope"));
    }

    let nonce = form.get("nonce");
    if nonce.is_some_and(|n| n.len() > MAX_NONCE_BYTES) {
        return Err(OAuthError::new(Reason::MalformedParameter, "nonce is too long"));
    }
    // Core 3.2.2.1, 3.3.2.11: the ID token in the front channel is only safe with a nonce.
    if response_type.id_token && nonce.is_none() {
        return Err(OAuthError::new(Reason::NonceMissing, "nonce is required for this response_type"));
    }

    let code_challenge = match (form.get("code_challenge"), form.get("code_challenge_method")) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(OAuthError::new(
                Reason::MissingParameter,
                "code_challenge_method was sent without code_challenge",
            ));
        }
        (Some(challenge), method) => {
            let method = challenge_method(method, client)?;
            let challenge = pkce::parse_challenge(challenge)?.to_owned();
            Some(CodeChallenge { method, challenge })
        }
    };
    // A public client cannot prove who redeems its code except with PKCE (OAuth 2.1 7.5.1).
    let public = client.token_endpoint_auth_method == TokenEndpointAuthMethod::None;
    if response_type.code && public && code_challenge.is_none() {
        return Err(OAuthError::new(Reason::PkceRequired, "code_challenge is required for public clients"));
    }

    let prompt = form.get("prompt").map(Prompt::parse).transpose()?.unwrap_or_default();
    let max_age_secs = match form.get("max_age") {
        None => None,
        Some(s) if s.bytes().all(|b| b.is_ascii_digit()) => Some(
            s.parse::<u64>()
                .map_err(|_| OAuthError::new(Reason::MalformedParameter, "max_age is too large"))?,
        ),
        Some(_) => {
            return Err(OAuthError::new(
                Reason::MalformedParameter,
                "max_age must be a non-negative integer",
            ));
        }
    };

    let resource = match form.get("resource") {
        Some(uri) if !crate::model::is_valid_resource(uri) => {
            return Err(OAuthError::new(
                Reason::MalformedResource,
                "resource must be an absolute URI without a fragment",
            ));
        }
        other => other.map(str::to_owned),
    };

    let owned = |name: &str| form.get(name).map(str::to_owned);
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: String::new(),
        redirect_uri_sent: false,
        response_type,
        response_mode,
        scope,
        openid,
        state: owned("state"),
        nonce: nonce.map(str::to_owned),
        code_challenge,
        prompt,
        max_age_secs,
        login_hint: owned("login_hint"),
        idp_hint: owned("idp_hint"),
        acr_values: owned("acr_values"),
        ui_locales: owned("ui_locales"),
        resource,
    })
}

/// Holds a valid request to the API its `resource` names (RFC 8707): the API must be one of
/// `tenant`'s that `client` may use, and the scope may hold only the API's scopes and the
/// identity ones ([`crate::resource::hold_scope`]: refused when the client sent `scope`
/// (`scope_sent`), narrowed when it is the client's default). Errors go back to the request's
/// redirect URI as `invalid_target` or `invalid_scope`. A request without `resource` is
/// returned as it is.
pub fn for_api(
    mut req: AuthorizationRequest,
    tenant: &crate::model::Tenant,
    client: &Client,
    scope_sent: bool,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let held = crate::resource::select(tenant, client, req.resource.as_deref())
        .and_then(|api| api.map(|api| crate::resource::hold_scope(&req.scope, api, scope_sent)).transpose());
    match held {
        Ok(Some(scope)) => {
            req.scope = scope;
            Ok(req)
        }
        Ok(None) => Ok(req),
        Err(error) => Err(AuthorizeError::Redirect {
            redirect_uri: req.redirect_uri,
            response_mode: req.response_mode,
            state: req.state,
            error,
        }),
    }
}

/// The `code_challenge_method` of a request that carries a `code_challenge`.
///
/// `plain` is accepted only from a client that opted in ([`Client::pkce_plain_allowed`];
/// RFC 7636 4.2 keeps it for clients that cannot do S256); an unknown method never is. RFC 7636
/// 4.3 makes a missing method mean `plain`, and for an opted-in client it does. For every other
/// client a missing method keeps meaning S256, as it did before the opt-in existed: reading it
/// as `plain` would quietly downgrade a client that never asked for `plain`, and refusing it would
/// break clients that send an S256 challenge without naming the method.
fn challenge_method(method: Option<&str>, client: &Client) -> Result<CodeChallengeMethod, OAuthError> {
    let refused = || {
        let allowed = if client.pkce_plain_allowed { "S256 or plain" } else { "S256" };
        OAuthError::new(Reason::PkceMethodNotAllowed, format!("code_challenge_method must be {allowed}"))
    };
    match method {
        None if client.pkce_plain_allowed => Ok(CodeChallengeMethod::Plain),
        None => Ok(CodeChallengeMethod::S256),
        Some(m) => match CodeChallengeMethod::parse(m) {
            Some(CodeChallengeMethod::S256) => Ok(CodeChallengeMethod::S256),
            Some(CodeChallengeMethod::Plain) if client.pkce_plain_allowed => Ok(CodeChallengeMethod::Plain),
            Some(CodeChallengeMethod::Plain) | None => Err(refused()),
        },
    }
}

impl AuthorizationRequest {
    /// The successful redirect carrying `params` (`code`, `id_token`, `access_token`, ...),
    /// plus `state` and `iss`.
    pub fn success(&self, params: &[(&str, &str)], issuer: &str) -> Response {
        response(&self.redirect_uri, self.response_mode, params, self.state.as_deref(), issuer)
    }

    /// An error for this request, sent to its redirect URI (e.g. `access_denied`,
    /// `login_required` once the request itself was valid).
    pub fn error(&self, error: OAuthError) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            response_mode: self.response_mode,
            state: self.state.clone(),
            error,
        }
    }
}

/// How an authorization response is delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// A `303 See Other` to this URL (query or fragment mode).
    Redirect(String),
    /// An auto-submitting form POSTed to `action` with these fields (form_post mode). The
    /// server renders it, HTML-escaping every value.
    FormPost {
        /// The redirect URI.
        action: String,
        /// The fields, in order.
        fields: Vec<(String, String)>,
    },
}

/// Builds the response to `redirect_uri` in `mode`: `params`, then `state` (when the request
/// had one) and `iss` (RFC 9207, so a client talking to several issuers can tell who answered).
pub fn response(
    redirect_uri: &str,
    mode: ResponseMode,
    params: &[(&str, &str)],
    state: Option<&str>,
    issuer: &str,
) -> Response {
    let all = params.iter().copied().chain(state.map(|s| ("state", s))).chain([("iss", issuer)]);
    match mode {
        ResponseMode::FormPost => Response::FormPost {
            action: redirect_uri.to_owned(),
            fields: all.map(|(n, v)| (n.to_owned(), v.to_owned())).collect(),
        },
        ResponseMode::Query | ResponseMode::Fragment => {
            let encoded: Vec<String> =
                all.map(|(n, v)| format!("{}={}", percent_encode(n), percent_encode(v))).collect();
            let encoded = encoded.join("&");
            // Registered redirect URIs carry no fragment (RFC 6749 3.1.2), but may carry a query
            // (3.1.2: "which MUST be retained when adding additional query parameters").
            let separator = match mode {
                ResponseMode::Fragment => "#",
                _ if !redirect_uri.contains('?') => "?",
                _ if redirect_uri.ends_with('?') || redirect_uri.ends_with('&') => "",
                _ => "&",
            };
            Response::Redirect(format!("{redirect_uri}{separator}{encoded}"))
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters: safe in a query and in a
/// fragment, and read back by any form decoder.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample_client;

    const ISS: &str = "https://id.example/t/t";

    fn client() -> Client {
        Client {
            grant_types: vec![GrantType::AuthorizationCode],
            redirect_uris: vec!["https://app.example/cb".into(), "https://app.example/cb2?x=1".into()],
            response_types: vec!["code".into(), "id_token token".into()],
            scope: vec!["openid".into(), "profile".into(), "read".into()],
            ..sample_client()
        }
    }

    fn check(query: &str) -> Result<AuthorizationRequest, AuthorizeError> {
        let form = Form::parse(query.as_bytes()).expect("form");
        validate(&form, Some(&client()))
    }

    #[test]
    fn response_type_is_a_set() {
        assert_eq!(ResponseType::parse("token id_token"), ResponseType::parse("id_token token"));
        assert_eq!(ResponseType::parse("code"), Some(ResponseType::CODE));
        for bad in ["token", "code code", "none", "", "code  x"] {
            assert_eq!(ResponseType::parse(bad), None, "{bad}");
        }
        let c = client();
        assert!(ResponseType::parse("token id_token").expect("rt").allowed_for(&c));
        assert!(!ResponseType::parse("code id_token").expect("rt").allowed_for(&c));
    }

    #[test]
    fn minimal_code_request() {
        let r = check("client_id=svc&response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb")
            .expect("valid");
        assert_eq!(r.response_mode, ResponseMode::Query);
        assert_eq!(r.scope, "profile read", "the default scope is not an OpenID request");
        assert!(!r.openid);
        assert!(r.redirect_uri_sent);
        assert_eq!(r.code_challenge, None);
    }

    #[test]
    fn one_registered_uri_may_be_omitted_for_plain_oauth_only() {
        let mut c = client();
        c.redirect_uris.truncate(1);
        let form = Form::parse(b"client_id=svc&response_type=code&scope=read").expect("form");
        let r = validate(&form, Some(&c)).expect("valid");
        assert_eq!((r.redirect_uri.as_str(), r.redirect_uri_sent), ("https://app.example/cb", false));
        let form = Form::parse(b"client_id=svc&response_type=code&scope=openid").expect("form");
        let err = validate(&form, Some(&c)).expect_err("openid needs redirect_uri");
        assert!(matches!(err, AuthorizeError::Fatal(ref e) if e.reason == Reason::MissingParameter));
    }

    #[test]
    fn prompt_and_max_age() {
        assert!(Prompt::parse("login consent").expect("ok").consent);
        assert_eq!(Prompt::parse("none login").expect_err("none").reason, Reason::PromptNoneCombined);
        assert_eq!(Prompt::parse("nope").expect_err("x").reason, Reason::MalformedParameter);
        let base = "client_id=svc&response_type=code&redirect_uri=https://app.example/cb";
        assert_eq!(check(&format!("{base}&max_age=0")).expect("0").max_age_secs, Some(0));
        for bad in ["-1", "1.5", "99999999999999999999999"] {
            let err = check(&format!("{base}&max_age={bad}")).expect_err(bad);
            assert_eq!(err.error().reason, Reason::MalformedParameter, "{bad}");
        }
    }

    #[test]
    fn query_building() {
        let r = response("https://a.example/cb", ResponseMode::Query, &[("code", "a b&c")], Some("s/1"), ISS);
        assert_eq!(
            r,
            Response::Redirect(
                "https://a.example/cb?code=a%20b%26c&state=s%2F1&iss=https%3A%2F%2Fid.example%2Ft%2Ft".into()
            )
        );
        let r = response("https://a.example/cb?x=1", ResponseMode::Query, &[("code", "c")], None, "i");
        assert_eq!(r, Response::Redirect("https://a.example/cb?x=1&code=c&iss=i".into()));
        let r = response("https://a.example/cb?", ResponseMode::Query, &[("code", "c")], None, "i");
        assert_eq!(r, Response::Redirect("https://a.example/cb?code=c&iss=i".into()));
        let r = response("https://a.example/cb?x=1", ResponseMode::Fragment, &[("id_token", "t")], None, "i");
        assert_eq!(r, Response::Redirect("https://a.example/cb?x=1#id_token=t&iss=i".into()));
    }

    #[test]
    fn form_post_returns_raw_fields() {
        let r = response("https://a.example/cb", ResponseMode::FormPost, &[("code", "<c>")], Some("s"), "i");
        let Response::FormPost { action, fields } = r else { panic!("form_post") };
        assert_eq!(action, "https://a.example/cb");
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["code", "state", "iss"]);
        assert_eq!(fields[0].1, "<c>", "escaping is the renderer's job");
    }

    #[test]
    fn error_redirect_carries_error_state_and_iss() {
        let err = check(
            "client_id=svc&response_type=code&redirect_uri=https://app.example/cb&state=xyz&scope=admin",
        )
        .expect_err("scope");
        let Some(Response::Redirect(url)) = err.redirect(ISS) else { panic!("redirect") };
        assert!(url.starts_with("https://app.example/cb?error=invalid_scope&error_description="), "{url}");
        assert!(url.contains("&state=xyz&iss="), "{url}");
        let fatal = AuthorizeError::Fatal(OAuthError::new(Reason::UnknownClient, "x"));
        assert_eq!(fatal.redirect(ISS), None);
    }

    #[test]
    fn repeats_go_to_the_client_unless_they_hide_the_client_or_its_uri() {
        let answer = |query: &str| {
            let (form, repeated) = Form::parse_first(query.as_bytes()).expect("form");
            repeated_parameter(&form, Some(&client()), &repeated)
        };
        let base = "client_id=svc&redirect_uri=https://app.example/cb&state=s";
        match answer(&format!("{base}&response_type=code&response_type=code")) {
            AuthorizeError::Redirect { redirect_uri, state, error, .. } => {
                assert_eq!(redirect_uri, "https://app.example/cb");
                assert_eq!(state.as_deref(), Some("s"));
                assert_eq!(error.code().as_str(), "invalid_request");
                assert_eq!(error.description, "parameter `response_type` is repeated");
            }
            other => panic!("{other:?}"),
        }
        // A repeated state is not echoed; a repeated name that is not printable is not quoted.
        let Answer { state, error } = redirected(answer(&format!("{base}&response_type=code&state=t")));
        assert_eq!((state, error.description.as_str()), (None, "parameter `state` is repeated"));
        let Answer { error, .. } = redirected(answer(&format!("{base}&response_type=code&%22=1&%22=2")));
        assert_eq!(error.description, "a parameter is repeated");
        for fatal in [
            format!("{base}&response_type=code&client_id=svc"),
            format!("{base}&response_type=code&redirect_uri=https://app.example/cb"),
            "client_id=svc&redirect_uri=https://evil.example/&response_type=code&response_type=code".into(),
        ] {
            assert!(matches!(answer(&fatal), AuthorizeError::Fatal(_)), "{fatal}");
        }
    }

    struct Answer {
        state: Option<String>,
        error: OAuthError,
    }

    fn redirected(err: AuthorizeError) -> Answer {
        match err {
            AuthorizeError::Redirect { state, error, .. } => Answer { state, error },
            AuthorizeError::Fatal(e) => panic!("fatal: {e:?}"),
        }
    }

    #[test]
    fn plain_pkce_needs_the_client_opt_in() {
        const V: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let base = format!(
            "client_id=svc&response_type=code&redirect_uri=https://app.example/cb&code_challenge={V}"
        );
        let run = |c: &Client, extra: &str| {
            let query = format!("{base}{extra}");
            validate(&Form::parse(query.as_bytes()).expect("form"), Some(c))
        };
        let method = |r: Result<AuthorizationRequest, AuthorizeError>| {
            r.expect("valid").code_challenge.expect("challenge").method
        };
        let refused = |r: Result<AuthorizationRequest, AuthorizeError>| match r.expect_err("refused") {
            AuthorizeError::Redirect { error, .. } => error.reason,
            AuthorizeError::Fatal(e) => panic!("fatal {e:?}"),
        };

        // Without the opt-in: plain and unknown methods go back to the client; none means S256.
        let strict = client();
        assert_eq!(refused(run(&strict, "&code_challenge_method=plain")), Reason::PkceMethodNotAllowed);
        assert_eq!(refused(run(&strict, "&code_challenge_method=s256")), Reason::PkceMethodNotAllowed);
        assert_eq!(method(run(&strict, "")), CodeChallengeMethod::S256);
        assert_eq!(method(run(&strict, "&code_challenge_method=S256")), CodeChallengeMethod::S256);

        // With it: plain is accepted, S256 still is, and none means plain (RFC 7636 4.3).
        let lax = Client { pkce_plain_allowed: true, ..client() };
        assert_eq!(method(run(&lax, "&code_challenge_method=plain")), CodeChallengeMethod::Plain);
        assert_eq!(method(run(&lax, "&code_challenge_method=S256")), CodeChallengeMethod::S256);
        assert_eq!(method(run(&lax, "")), CodeChallengeMethod::Plain);
        assert_eq!(refused(run(&lax, "&code_challenge_method=PLAIN")), Reason::PkceMethodNotAllowed);
        let err = run(&strict, "&code_challenge_method=plain").expect_err("refused");
        assert_eq!(err.error().code(), crate::error::ErrorCode::InvalidRequest);
    }

    #[test]
    fn later_errors_use_the_request_mode() {
        let r = check("client_id=svc&response_type=id_token+token&redirect_uri=https://app.example/cb&scope=openid&nonce=n&state=s")
            .expect("implicit");
        assert_eq!(r.response_mode, ResponseMode::Fragment);
        let denied = r.error(OAuthError::new(Reason::AccessDeniedByUser, "the user denied the request"));
        let Some(Response::Redirect(url)) = denied.redirect(ISS) else { panic!("redirect") };
        assert!(url.starts_with("https://app.example/cb#error=access_denied&"), "{url}");
    }
}
