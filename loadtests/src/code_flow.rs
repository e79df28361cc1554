//! The end-user scenarios, driven over HTTP without a browser once a session exists:
//!
//! - `code_flow`: per iteration, `GET authorize` with the session cookie (a redirect to the
//!   client with a code; `state` checked), the code exchanged at the token endpoint with PKCE
//!   S256 (access, ID and refresh tokens), then one `refresh_token` grant with the new refresh
//!   token. One iteration is one flow; its latency is the three requests'.
//! - `refresh`: each virtual user holds a refresh-token chain of its own and refreshes it over
//!   and over, always with the newest token the server returned. A chain the server refuses is
//!   replaced at the start of the next iteration by a new code flow (that iteration then counts
//!   the authorize and exchange requests too; the `#` line shows how often).
//!
//! Setup, outside every measured window: one login through [`crate::browser`] (the session
//! cookie is shared by all virtual users: one login, so login rate limits and the argon2id cost
//! stay out of the figures), and for `refresh` one code flow per virtual user for its chain.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::header::{COOKIE, LOCATION};
use http::{HeaderMap, HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

use crate::browser::{self, CookieJar};
use crate::client::{Body, Conn};
use crate::discovery::Endpoints;
use crate::error::{Context, Error, Result};
use crate::request::{Credentials, RequestTemplate};
use crate::runner::{Iteration, IterationError, Outcome};
use crate::token_shape::{TokenShape, classify_token};

/// Virtual users whose refresh chains are set up at the same time.
const SETUP_PARALLELISM: usize = 16;

/// What the end-user scenarios need from the command line.
#[derive(Clone)]
pub struct FlowSettings {
    /// The relying party (client_secret_basic), registered for authorization_code and
    /// refresh_token with `redirect_uri`.
    pub client: Credentials,
    /// End-user name typed into the login form.
    pub user: String,
    /// Their password.
    pub password: String,
    /// Registered redirect URI; never contacted, the tool reads the code from the Location.
    pub redirect_uri: String,
    /// `scope` of the authorization request.
    pub scope: String,
}

impl std::fmt::Debug for FlowSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowSettings")
            .field("client", &self.client)
            .field("user", &self.user)
            .field("redirect_uri", &self.redirect_uri)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// A PKCE verifier and its S256 challenge (RFC 7636 4.1, 4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkce {
    /// 43 characters of base64url.
    pub verifier: String,
    /// BASE64URL(SHA256(verifier)).
    pub challenge: String,
}

/// The `n`th verifier of a virtual user whose random `seed` keeps its verifiers apart.
pub fn pkce(seed: &[u8; 16], n: u64) -> Pkce {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(n.to_be_bytes());
    let verifier = URL_SAFE_NO_PAD.encode(h.finalize());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    Pkce { verifier, challenge }
}

fn random_seed() -> Result<[u8; 16]> {
    let mut seed = [0u8; 16];
    getrandom::fill(&mut seed).map_err(|e| Error::msg(format!("getrandom: {e}")))?;
    Ok(seed)
}

/// The query of an authorization request for a code with PKCE S256 and a nonce.
pub fn authorize_query(
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    state: &str,
    nonce: &str,
    challenge: &str,
) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", state)
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .finish()
}

/// The code exchange body.
pub fn code_body(code: &str, redirect_uri: &str, verifier: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_verifier", verifier)
        .finish()
}

/// The refresh body.
pub fn refresh_body(refresh_token: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", refresh_token)
        .finish()
}

/// The parameters of a redirect to `redirect_uri` (query, or fragment when there is one).
pub fn redirect_params(location: &str, redirect_uri: &str) -> Result<Vec<(String, String)>> {
    let rest = location.strip_prefix(redirect_uri).ok_or_else(|| {
        Error::msg(format!("redirect to {location:?}, not to the redirect URI {redirect_uri}"))
    })?;
    let (before_fragment, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let query = match (fragment, before_fragment.strip_prefix('?')) {
        (Some(f), _) if !f.is_empty() => f,
        (_, Some(q)) => q,
        _ if before_fragment.is_empty() => "",
        _ => {
            return Err(Error::msg(format!(
                "redirect to {location:?}, not to the redirect URI {redirect_uri}"
            )));
        }
    };
    Ok(form_urlencoded::parse(query.as_bytes()).into_owned().collect())
}

/// The code from a redirect to the client, after checking `state` (and `iss`, RFC 9207, when
/// both it and the issuer are known); an `error` redirect is an error.
pub fn code_from_redirect(
    location: &str,
    redirect_uri: &str,
    state: &str,
    issuer: Option<&str>,
) -> Result<String> {
    let params = redirect_params(location, redirect_uri)?;
    let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    if let Some(error) = get("error") {
        return Err(Error::msg(format!(
            "authorization error {error}: {}",
            get("error_description").unwrap_or("(no description)")
        )));
    }
    if get("state") != Some(state) {
        return Err(Error::msg(format!("state {:?} came back as {:?}", state, get("state"))));
    }
    if let (Some(iss), Some(expected)) = (get("iss"), issuer)
        && iss != expected
    {
        return Err(Error::msg(format!("iss {iss:?} is not the issuer {expected:?}")));
    }
    get("code")
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Error::msg("redirect without a code"))
}

/// The tokens of a token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    /// `access_token`.
    pub access: String,
    /// `id_token`, when issued.
    pub id: Option<String>,
    /// `refresh_token`, when issued.
    pub refresh: Option<String>,
}

/// Parses a 200 token response of the code or refresh grant.
pub fn parse_tokens(body: &[u8]) -> Result<Tokens> {
    let json: Value = serde_json::from_slice(body).context(|| "token response is not JSON".to_owned())?;
    let field =
        |name: &str| json.get(name).and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_owned);
    Ok(Tokens {
        access: field("access_token").ok_or_else(|| Error::msg("token response has no access_token"))?,
        id: field("id_token"),
        refresh: field("refresh_token"),
    })
}

/// Everything the virtual users share: endpoints, client, the session cookie.
#[derive(Debug)]
pub struct FlowContext {
    addr: SocketAddr,
    authorize_path: String,
    authorize: RequestTemplate,
    token: RequestTemplate,
    cookie: HeaderValue,
    issuer: Option<String>,
    settings: FlowSettings,
    /// Chains replaced after the server refused a refresh (refresh scenario).
    pub chains_replaced: AtomicU64,
}

/// A step of a flow that did not give what the next step needs.
enum Stop {
    /// The server answered with this status (counted as a non-2xx flow); body bytes read.
    Status(StatusCode, u64),
    /// Transport error or an answer the flow cannot use.
    Fail(IterationError),
}

impl From<Stop> for Outcome {
    fn from(s: Stop) -> Self {
        match s {
            Stop::Status(status, bytes) => Ok((status, bytes)),
            Stop::Fail(e) => Err(e),
        }
    }
}

async fn send(
    conn: &mut Conn,
    req: Request<Body>,
) -> std::result::Result<(StatusCode, HeaderMap, Bytes), Stop> {
    if !conn.ready().await {
        return Err(Stop::Fail(IterationError::transport("connection closed")));
    }
    let resp = conn.send(req).await.map_err(|e| Stop::Fail(IterationError::transport(e)))?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.map_err(|e| Stop::Fail(IterationError::transport(e)))?.to_bytes();
    Ok((parts.status, parts.headers, body))
}

impl FlowContext {
    fn authorize_request(&self, query: &str) -> Result<Request<Body>> {
        let sep = if self.authorize_path.contains('?') { '&' } else { '?' };
        let mut req = self.authorize.build();
        *req.uri_mut() = format!("{}{sep}{query}", self.authorize_path)
            .parse::<Uri>()
            .context(|| "authorize URL".to_owned())?;
        req.headers_mut().insert(COOKIE, self.cookie.clone());
        Ok(req)
    }

    fn token_request(&self, body: String) -> Request<Body> {
        let mut req = self.token.build();
        *req.body_mut() = Full::new(Bytes::from(body));
        req
    }

    /// `GET authorize` with the session, then the code exchange. Returns the tokens and the
    /// body bytes read.
    async fn code_and_tokens(
        &self,
        conn: &mut Conn,
        seed: &[u8; 16],
        n: u64,
    ) -> std::result::Result<(Tokens, u64), Stop> {
        let p = pkce(seed, n);
        let state = format!("s{n}");
        let nonce = format!("n{n}");
        let s = &self.settings;
        let query = authorize_query(&s.client.id, &s.redirect_uri, &s.scope, &state, &nonce, &p.challenge);
        let req = self.authorize_request(&query).map_err(|e| Stop::Fail(IterationError::protocol(e)))?;
        let (status, headers, body) = send(conn, req).await?;
        let mut bytes = body.len() as u64;
        if !status.is_redirection() {
            return Err(if status.is_success() {
                Stop::Fail(IterationError::protocol(format!(
                    "authorize answered {} instead of a redirect (session not accepted?)",
                    status.as_u16()
                )))
            } else {
                Stop::Status(status, bytes)
            });
        }
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Stop::Fail(IterationError::protocol("authorize redirect without a Location")))?;
        let code = code_from_redirect(location, &s.redirect_uri, &state, self.issuer.as_deref())
            .map_err(|e| Stop::Fail(IterationError::protocol(e)))?;
        let (status, _, body) =
            send(conn, self.token_request(code_body(&code, &s.redirect_uri, &p.verifier))).await?;
        bytes += body.len() as u64;
        if status != StatusCode::OK {
            return Err(Stop::Status(status, bytes));
        }
        let tokens = parse_tokens(&body).map_err(|e| Stop::Fail(IterationError::protocol(e)))?;
        Ok((tokens, bytes))
    }

    /// One refresh; returns the new tokens and the body bytes.
    async fn refresh(
        &self,
        conn: &mut Conn,
        refresh_token: &str,
    ) -> std::result::Result<(Tokens, u64), Stop> {
        let (status, _, body) = send(conn, self.token_request(refresh_body(refresh_token))).await?;
        let bytes = body.len() as u64;
        if status != StatusCode::OK {
            return Err(Stop::Status(status, bytes));
        }
        let tokens = parse_tokens(&body).map_err(|e| Stop::Fail(IterationError::protocol(e)))?;
        Ok((tokens, bytes))
    }
}

/// A virtual user of `code_flow`.
pub struct CodeFlowUser {
    ctx: Arc<FlowContext>,
    seed: [u8; 16],
    n: u64,
}

impl CodeFlowUser {
    async fn flow(&mut self, conn: &mut Conn) -> std::result::Result<(StatusCode, u64), Stop> {
        self.n += 1;
        let (tokens, mut bytes) = self.ctx.code_and_tokens(conn, &self.seed, self.n).await?;
        let refresh = tokens
            .refresh
            .ok_or_else(|| Stop::Fail(IterationError::protocol("code exchange gave no refresh_token")))?;
        let (_, b) = self.ctx.refresh(conn, &refresh).await.map_err(|s| match s {
            Stop::Status(status, b) => Stop::Status(status, bytes + b),
            other => other,
        })?;
        bytes += b;
        Ok((StatusCode::OK, bytes))
    }
}

impl Iteration for CodeFlowUser {
    fn addr(&self) -> SocketAddr {
        self.ctx.addr
    }

    async fn iterate(&mut self, conn: &mut Conn) -> Outcome {
        self.flow(conn).await.or_else(Outcome::from)
    }
}

/// A virtual user of `refresh`, with its own chain.
pub struct RefreshUser {
    ctx: Arc<FlowContext>,
    seed: [u8; 16],
    n: u64,
    /// The newest refresh token; `None` after the server refused the chain.
    refresh: Option<String>,
}

impl RefreshUser {
    async fn step(&mut self, conn: &mut Conn) -> std::result::Result<(StatusCode, u64), Stop> {
        let mut bytes = 0;
        let current = match self.refresh.take() {
            Some(t) => t,
            None => {
                self.ctx.chains_replaced.fetch_add(1, Ordering::Relaxed);
                self.n += 1;
                let (tokens, b) = self.ctx.code_and_tokens(conn, &self.seed, self.n).await?;
                bytes += b;
                tokens.refresh.ok_or_else(|| {
                    Stop::Fail(IterationError::protocol("code exchange gave no refresh_token"))
                })?
            }
        };
        match self.ctx.refresh(conn, &current).await {
            Ok((tokens, b)) => {
                // A server that does not rotate keeps the chain on the same token.
                self.refresh = Some(tokens.refresh.unwrap_or(current));
                Ok((StatusCode::OK, bytes + b))
            }
            // Refused: a new chain next time. A transport error keeps the token, which the
            // server may have rotated already; the next refresh then falls in its grace period
            // or is refused and replaced.
            Err(Stop::Status(status, b)) => Err(Stop::Status(status, bytes + b)),
            Err(fail) => {
                self.refresh = Some(current);
                Err(fail)
            }
        }
    }
}

impl Iteration for RefreshUser {
    fn addr(&self) -> SocketAddr {
        self.ctx.addr
    }

    async fn iterate(&mut self, conn: &mut Conn) -> Outcome {
        self.step(conn).await.or_else(Outcome::from)
    }
}

fn note(scenario: &str, msg: impl std::fmt::Display) {
    eprintln!("# preflight {scenario}: {msg}");
}

fn problem(scenario: &str, msg: impl std::fmt::Display) {
    eprintln!("# PREFLIGHT PROBLEM {scenario}: {msg}");
}

fn describe(token: &str) -> String {
    match classify_token(token) {
        TokenShape::Jwt { header } => {
            format!("jwt alg={}", header.get("alg").and_then(Value::as_str).unwrap_or("?"))
        }
        shape => shape.to_string(),
    }
}

fn stop_text(s: &Stop) -> String {
    match s {
        Stop::Status(status, _) => format!("HTTP {}", status.as_u16()),
        Stop::Fail(e) => e.message.clone(),
    }
}

/// Logs in once and checks one flow. `Err` when the scenario cannot run at all; the flag is
/// false when the preflight found a problem.
pub async fn prepare(
    scenario: &str,
    ep: &Endpoints,
    settings: &FlowSettings,
    timeout: Duration,
) -> Result<(Arc<FlowContext>, bool)> {
    let authorize_url =
        ep.authorize.as_ref().ok_or_else(|| Error::msg("no authorization_endpoint advertised"))?;
    let addr = ep.token.resolve().await?;
    let authorize_addr = authorize_url.resolve().await?;
    if addr != authorize_addr {
        return Err(Error::msg(format!(
            "the authorization endpoint ({authorize_addr}) and the token endpoint ({addr}) are on different \
             addresses; one connection per virtual user cannot reach both"
        )));
    }

    // Log in: a browser's authorization request, the pages on the way, the redirect with a code.
    let seed = random_seed()?;
    let first = pkce(&seed, 0);
    let query = authorize_query(
        &settings.client.id,
        &settings.redirect_uri,
        &settings.scope,
        "login",
        "n0",
        &first.challenge,
    );
    let sep = if authorize_url.url.to_string().contains('?') { '&' } else { '?' };
    let start = format!("{}{sep}{query}", authorize_url.url);
    let mut jar = CookieJar::default();
    let logged_in = browser::log_in(
        &start,
        &settings.redirect_uri,
        &settings.user,
        &settings.password,
        &mut jar,
        timeout,
    )
    .await
    .context(|| format!("logging in as {:?}", settings.user))?;
    let cookie = logged_in
        .jar
        .header(authorize_url.path_and_query.path())
        .ok_or_else(|| Error::msg("no cookie for the authorization endpoint after logging in"))?;
    let names: Vec<&str> = cookie.split("; ").filter_map(|c| c.split_once('=').map(|(n, _)| n)).collect();
    note(
        scenario,
        format_args!(
            "logged in as {:?} in {} steps; the flows send cookies {names:?}",
            settings.user, logged_in.steps
        ),
    );
    let mut ok = true;
    if let Err(e) =
        code_from_redirect(&logged_in.location, &settings.redirect_uri, "login", ep.issuer.as_deref())
    {
        problem(scenario, format_args!("the login's redirect: {e}"));
        ok = false;
    }

    let ctx = Arc::new(FlowContext {
        addr,
        authorize_path: authorize_url.path_and_query.to_string(),
        authorize: RequestTemplate::get(authorize_url, addr)?,
        token: RequestTemplate::post_form(&ep.token, addr, &settings.client, String::new())?,
        cookie: HeaderValue::from_str(&cookie).context(|| "Cookie header".to_owned())?,
        issuer: ep.issuer.clone(),
        settings: settings.clone(),
        chains_replaced: AtomicU64::new(0),
    });

    // One flow by hand, to say what the tokens are.
    let mut conn = Conn::connect(addr).await?;
    match tokio::time::timeout(timeout, ctx.code_and_tokens(&mut conn, &seed, 1)).await {
        Err(_) => {
            problem(scenario, format_args!("no code flow within {timeout:?}"));
            ok = false;
        }
        Ok(Err(stop)) => {
            problem(scenario, format_args!("code flow with the session cookie: {}", stop_text(&stop)));
            ok = false;
        }
        Ok(Ok((tokens, _))) => {
            note(
                scenario,
                format_args!(
                    "code exchange: access {}, id_token {}, refresh_token {}",
                    describe(&tokens.access),
                    tokens.id.as_deref().map_or("none".to_owned(), describe),
                    if tokens.refresh.is_some() { "issued" } else { "none" }
                ),
            );
            if tokens.id.is_none() && settings.scope.split(' ').any(|s| s == "openid") {
                problem(scenario, "no id_token for an openid request");
                ok = false;
            }
            match tokens.refresh {
                None => {
                    problem(scenario, "no refresh_token (client not registered for it? offline_access?)");
                    ok = false;
                }
                Some(rt) => match ctx.refresh(&mut conn, &rt).await {
                    Ok((t, _)) => note(
                        scenario,
                        format_args!(
                            "refresh: access {}, id_token {}, refresh_token {}",
                            describe(&t.access),
                            t.id.as_deref().map_or("none".to_owned(), describe),
                            match t.refresh {
                                Some(new) if new != rt => "rotated",
                                Some(_) => "same token",
                                None => "not returned (kept)",
                            }
                        ),
                    ),
                    Err(stop) => {
                        problem(scenario, format_args!("refresh: {}", stop_text(&stop)));
                        ok = false;
                    }
                },
            }
        }
    }
    Ok((ctx, ok))
}

/// `n` code-flow users.
pub fn code_flow_users(ctx: &Arc<FlowContext>, n: usize) -> Result<Vec<CodeFlowUser>> {
    (0..n).map(|_| Ok(CodeFlowUser { ctx: Arc::clone(ctx), seed: random_seed()?, n: 0 })).collect()
}

/// `n` refresh users, each with a chain from a code flow of its own (setup, not measured).
/// Users whose setup failed start without a chain and get one in their first iteration.
pub async fn refresh_users(ctx: &Arc<FlowContext>, n: usize, timeout: Duration) -> Result<Vec<RefreshUser>> {
    let mut users = Vec::with_capacity(n);
    let mut failed = 0usize;
    let mut last_failure = String::new();
    let mut set = JoinSet::new();
    let mut started = 0;
    while users.len() < n {
        while started < n && set.len() < SETUP_PARALLELISM {
            started += 1;
            let ctx = Arc::clone(ctx);
            let seed = random_seed()?;
            set.spawn(async move {
                let got = async {
                    let mut conn = Conn::connect(ctx.addr).await.map_err(|e| e.to_string())?;
                    let (tokens, _) = tokio::time::timeout(timeout, ctx.code_and_tokens(&mut conn, &seed, 1))
                        .await
                        .map_err(|_| format!("no code flow within {timeout:?}"))?
                        .map_err(|s| stop_text(&s))?;
                    tokens.refresh.ok_or_else(|| "no refresh_token".to_owned())
                }
                .await;
                (seed, got)
            });
        }
        let Some(done) = set.join_next().await else { break };
        let (seed, got) = done.context(|| "a setup task failed".to_owned())?;
        let refresh = match got {
            Ok(t) => Some(t),
            Err(e) => {
                failed += 1;
                last_failure = e;
                None
            }
        };
        users.push(RefreshUser { ctx: Arc::clone(ctx), seed, n: 1, refresh });
    }
    if failed == n {
        return Err(Error::msg(format!("no refresh chain could be set up: {last_failure}")));
    }
    if failed > 0 {
        eprintln!(
            "# WARNING refresh setup: {failed}/{n} chains failed ({last_failure}); replaced during the run"
        );
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CB: &str = "http://127.0.0.1:9/cb";

    #[test]
    fn pkce_matches_rfc7636_and_differs_per_iteration() {
        let seed = [7u8; 16];
        let p = pkce(&seed, 1);
        assert_eq!(p.verifier.len(), 43);
        assert!(p.verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(p.challenge, URL_SAFE_NO_PAD.encode(Sha256::digest(p.verifier.as_bytes())));
        assert_ne!(pkce(&seed, 2).verifier, p.verifier);
        assert_ne!(pkce(&[8u8; 16], 1).verifier, p.verifier);
        // RFC 7636 Appendix B's pair, through the same challenge computation.
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn builds_request_bodies() {
        assert_eq!(
            authorize_query("c 1", CB, "openid offline_access", "s1", "n1", "ch"),
            "response_type=code&client_id=c+1&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb\
             &scope=openid+offline_access&state=s1&nonce=n1&code_challenge=ch&code_challenge_method=S256"
        );
        assert_eq!(
            code_body("a+b", CB, "v"),
            "grant_type=authorization_code&code=a%2Bb&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&code_verifier=v"
        );
        assert_eq!(refresh_body("r/1"), "grant_type=refresh_token&refresh_token=r%2F1");
    }

    #[test]
    fn extracts_the_code_from_the_location() {
        let iss = Some("http://127.0.0.1:8080/t/default");
        let loc =
            "http://127.0.0.1:9/cb?code=Q2v_x%2B&state=s7&iss=http%3A%2F%2F127.0.0.1%3A8080%2Ft%2Fdefault";
        assert_eq!(code_from_redirect(loc, CB, "s7", iss).expect("valid"), "Q2v_x+");
        assert_eq!(code_from_redirect(loc, CB, "s7", None).expect("no issuer known"), "Q2v_x+");
        assert!(code_from_redirect(loc, CB, "s8", iss).is_err(), "state mismatch");
        assert!(code_from_redirect(loc, CB, "s7", Some("http://127.0.0.1:3100")).is_err(), "iss mismatch");
        // A fragment response (form of the redirect for implicit/hybrid) is read as well.
        assert_eq!(
            code_from_redirect("http://127.0.0.1:9/cb#code=f&state=s", CB, "s", None).expect("fragment"),
            "f"
        );
        let err = code_from_redirect("http://127.0.0.1:9/cb?error=access_denied&state=s", CB, "s", None)
            .expect_err("error redirect");
        assert!(err.to_string().contains("access_denied"), "{err}");
        assert!(code_from_redirect("http://127.0.0.1:9/cb?state=s", CB, "s", None).is_err(), "no code");
        assert!(code_from_redirect("http://127.0.0.1:9/other?code=x&state=s", CB, "s", None).is_err());
        assert!(code_from_redirect("http://127.0.0.1:9/cbx?code=x&state=s", CB, "s", None).is_err());
        assert_eq!(redirect_params(CB, CB).expect("bare"), Vec::<(String, String)>::new());
    }

    #[test]
    fn parses_token_responses() {
        let t =
            parse_tokens(br#"{"access_token":"a","id_token":"i","refresh_token":"r","token_type":"Bearer"}"#)
                .expect("valid");
        assert_eq!(t, Tokens { access: "a".into(), id: Some("i".into()), refresh: Some("r".into()) });
        let t = parse_tokens(br#"{"access_token":"a","refresh_token":""}"#).expect("valid");
        assert_eq!((t.id, t.refresh), (None, None));
        assert!(parse_tokens(br#"{"error":"invalid_grant"}"#).is_err());
        assert!(parse_tokens(b"<html>").is_err());
    }
}
