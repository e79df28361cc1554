//! The scenarios: what request each one repeats, and the preflight that checks, before any
//! load, that the server gives real answers (a token of the expected kind, `active: true`).
//! The end-user scenarios (`code_flow`, `refresh`) are several requests per iteration; they
//! live in [`crate::code_flow`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::client::{self, Conn, Fetched};
use crate::code_flow::{self, FlowContext, FlowSettings};
use crate::discovery::Endpoints;
use crate::error::{Context, Error, Result};
use crate::request::{Credentials, RequestTemplate};
use crate::token_shape::{TokenFormat, TokenShape, classify_token};

/// One kind of request repeated under load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// client_credentials, expecting a JWT access token.
    CcJwt,
    /// client_credentials, expecting an opaque access token.
    CcOpaque,
    /// Introspection of one opaque token.
    Introspect,
    /// GET of the discovery document.
    Discovery,
    /// GET of the JWKS.
    Jwks,
    /// authorize with a session cookie, code exchange with PKCE, one refresh: one flow.
    CodeFlow,
    /// One refresh_token grant on a chain of the virtual user's own.
    Refresh,
}

impl Scenario {
    /// Every scenario; the first five run when none are named (the others need an end user).
    pub const ALL: [Scenario; 7] = [
        Scenario::CcJwt,
        Scenario::CcOpaque,
        Scenario::Introspect,
        Scenario::Discovery,
        Scenario::Jwks,
        Scenario::CodeFlow,
        Scenario::Refresh,
    ];

    /// The name used on the command line and in output lines.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::CcJwt => "cc_jwt",
            Scenario::CcOpaque => "cc_opaque",
            Scenario::Introspect => "introspect",
            Scenario::Discovery => "discovery",
            Scenario::Jwks => "jwks",
            Scenario::CodeFlow => "code_flow",
            Scenario::Refresh => "refresh",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Scenario::ALL.into_iter().find(|sc| sc.name() == s.trim()).ok_or_else(|| {
            let names: Vec<_> = Scenario::ALL.iter().map(|s| s.name()).collect();
            Error::msg(format!("unknown scenario {s:?} (known: {})", names.join(", ")))
        })
    }
}

/// The client_credentials form body, with `scope` and `resource` when given and not empty.
pub fn cc_body(scope: Option<&str>, resource: Option<&str>) -> String {
    let mut f = form_urlencoded::Serializer::new(String::new());
    f.append_pair("grant_type", "client_credentials");
    if let Some(s) = scope.filter(|s| !s.is_empty()) {
        f.append_pair("scope", s);
    }
    if let Some(r) = resource.filter(|r| !r.is_empty()) {
        f.append_pair("resource", r);
    }
    f.finish()
}

/// The introspection form body for `token`.
pub fn introspect_body(token: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .append_pair("token_type_hint", "access_token")
        .finish()
}

/// A token response that passed the preflight.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenCheck {
    /// The access token.
    pub token: String,
    /// Its shape.
    pub shape: TokenShape,
    /// Field names of the response, for the log.
    pub fields: Vec<String>,
    /// Set when the token is not of the expected format: the load still runs, but measures
    /// something else than its name says.
    pub warning: Option<String>,
}

/// Checks a token response: 200, JSON, a non-empty `access_token` of the expected format.
pub fn check_token_response(status: u16, body: &[u8], expect: TokenFormat) -> Result<TokenCheck> {
    if status != 200 {
        return Err(Error::msg(format!("HTTP {status}")));
    }
    let json: Value = serde_json::from_slice(body).context(|| "token response is not JSON".to_owned())?;
    let token = json
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::msg("token response has no access_token"))?
        .to_owned();
    let shape = classify_token(&token);
    let warning =
        (shape.format() != expect).then(|| format!("expected a {expect:?} access token, got {shape}"));
    let fields = json.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    Ok(TokenCheck { token, shape, fields, warning })
}

/// Checks an introspection response: 200 with `"active": true`.
pub fn check_introspection(status: u16, body: &[u8]) -> Result<()> {
    if status != 200 {
        return Err(Error::msg(format!("HTTP {status}")));
    }
    let json: Value =
        serde_json::from_slice(body).context(|| "introspection response is not JSON".to_owned())?;
    match json.get("active") {
        Some(Value::Bool(true)) => Ok(()),
        other => Err(Error::msg(format!(
            "introspection says active={}",
            other.map_or("(missing)".to_owned(), Value::to_string)
        ))),
    }
}

/// Checks a JWKS: 200 with a non-empty `keys` array; returns the number of keys.
pub fn check_jwks(status: u16, body: &[u8]) -> Result<usize> {
    if status != 200 {
        return Err(Error::msg(format!("HTTP {status}")));
    }
    let json: Value = serde_json::from_slice(body).context(|| "JWKS is not JSON".to_owned())?;
    match json.get("keys").and_then(Value::as_array) {
        Some(keys) if !keys.is_empty() => Ok(keys.len()),
        _ => Err(Error::msg("JWKS has no keys")),
    }
}

/// What the scenarios need besides the endpoints.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Client for everything (and the JWT scenario).
    pub client: Option<Credentials>,
    /// Client for cc_opaque and introspect, when different.
    pub opaque_client: Option<Credentials>,
    /// `scope` to request; `None` sends none.
    pub scope: Option<String>,
    /// `resource` for cc_jwt.
    pub jwt_resource: Option<String>,
    /// `resource` for cc_opaque and the token that introspect introspects.
    pub opaque_resource: Option<String>,
    /// Timeout of a preflight request.
    pub timeout: Duration,
    /// The relying party and end user of `code_flow` and `refresh`, when given.
    pub flow: Option<FlowSettings>,
}

impl Settings {
    fn client(&self, what: Scenario) -> Result<&Credentials> {
        self.client
            .as_ref()
            .ok_or_else(|| Error::msg(format!("{what} needs --client-id and --client-secret")))
    }

    fn opaque_client(&self, what: Scenario) -> Result<&Credentials> {
        match &self.opaque_client {
            Some(c) => Ok(c),
            None => self.client(what),
        }
    }
}

/// What the virtual users of a scenario do.
#[derive(Debug, Clone)]
pub enum Load {
    /// Repeat one request.
    Repeat(Box<RequestTemplate>),
    /// `code_flow`.
    CodeFlow(Arc<FlowContext>),
    /// `refresh`.
    Refresh(Arc<FlowContext>),
}

/// A scenario ready to run: its load and whether the preflight found a problem.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The load.
    pub load: Load,
    /// False when the preflight reported a problem (the numbers may not mean what they say).
    pub preflight_ok: bool,
}

fn note(scenario: Scenario, msg: impl fmt::Display) {
    eprintln!("# preflight {scenario}: {msg}");
}

fn problem(scenario: Scenario, msg: impl fmt::Display) {
    eprintln!("# PREFLIGHT PROBLEM {scenario}: {msg}");
}

async fn token_preflight(
    scenario: Scenario,
    t: &RequestTemplate,
    expect: TokenFormat,
    timeout: Duration,
) -> Result<(Fetched, Result<TokenCheck>)> {
    let resp = client::fetch(t.addr, t.build(), timeout).await?;
    let check = check_token_response(resp.status.as_u16(), &resp.body, expect);
    match &check {
        Ok(c) => {
            note(
                scenario,
                format_args!("token ok: {} bytes={} fields={:?}", c.shape, resp.body.len(), c.fields),
            );
            if let Some(w) = &c.warning {
                problem(scenario, w);
            }
        }
        Err(e) => {
            problem(scenario, format_args!("{e}; body={:?} sent={:?}", resp.body_excerpt(300), t.body_text()))
        }
    }
    Ok((resp, check))
}

/// Builds the request of `scenario` and runs its preflight. `Err` when the scenario cannot run
/// at all (no endpoint, no credentials, no token to introspect).
pub async fn prepare(scenario: Scenario, ep: &Endpoints, s: &Settings) -> Result<Prepared> {
    match scenario {
        Scenario::CcJwt | Scenario::CcOpaque => {
            let (creds, resource, expect) = if scenario == Scenario::CcJwt {
                (s.client(scenario)?, &s.jwt_resource, TokenFormat::Jwt)
            } else {
                (s.opaque_client(scenario)?, &s.opaque_resource, TokenFormat::Opaque)
            };
            let addr = ep.token.resolve().await?;
            let body = cc_body(s.scope.as_deref(), resource.as_deref());
            let template = RequestTemplate::post_form(&ep.token, addr, creds, body)?;
            let (_, check) = token_preflight(scenario, &template, expect, s.timeout).await?;
            let preflight_ok = check.is_ok_and(|c| c.warning.is_none());
            Ok(Prepared { load: Load::Repeat(Box::new(template)), preflight_ok })
        }
        Scenario::Introspect => {
            let url = ep
                .introspection
                .as_ref()
                .ok_or_else(|| Error::msg("no introspection_endpoint advertised"))?;
            let creds = s.opaque_client(scenario)?;
            let token_addr = ep.token.resolve().await?;
            let body = cc_body(s.scope.as_deref(), s.opaque_resource.as_deref());
            let get_token = RequestTemplate::post_form(&ep.token, token_addr, creds, body)?;
            let (_, check) = token_preflight(scenario, &get_token, TokenFormat::Opaque, s.timeout).await?;
            let check = check.context(|| "no token to introspect".to_owned())?;
            let mut preflight_ok = check.warning.is_none();

            let addr = url.resolve().await?;
            let template = RequestTemplate::post_form(url, addr, creds, introspect_body(&check.token))?;
            // Several requests on one connection: a server with several processes and no
            // shared store may know the token in only one of them.
            const TRIES: usize = 20;
            let mut conn = Conn::connect(addr).await?;
            let mut active = 0;
            let mut sample = String::new();
            let mut last_problem = None;
            for _ in 0..TRIES {
                let resp = client::fetch_on(&mut conn, template.build(), s.timeout).await?;
                sample = resp.body_excerpt(300);
                match check_introspection(resp.status.as_u16(), &resp.body) {
                    Ok(()) => active += 1,
                    Err(e) => last_problem = Some(format!("{e}; body={sample:?}")),
                }
            }
            match last_problem {
                None => note(scenario, format_args!("{TRIES}/{TRIES} active=true; sample={sample}")),
                Some(last) => {
                    preflight_ok = false;
                    problem(scenario, format_args!("{active}/{TRIES} active=true; last problem: {last}"));
                }
            }
            Ok(Prepared { load: Load::Repeat(Box::new(template)), preflight_ok })
        }
        Scenario::Discovery => {
            let addr = ep.discovery.resolve().await?;
            let template = RequestTemplate::get(&ep.discovery, addr)?;
            let resp = client::fetch(addr, template.build(), s.timeout).await?;
            let preflight_ok = resp.status.is_success();
            if preflight_ok {
                note(scenario, format_args!("HTTP {} bytes={}", resp.status.as_u16(), resp.body.len()));
            } else {
                problem(scenario, format_args!("HTTP {}", resp.status.as_u16()));
            }
            Ok(Prepared { load: Load::Repeat(Box::new(template)), preflight_ok })
        }
        Scenario::CodeFlow | Scenario::Refresh => {
            let flow = s.flow.as_ref().ok_or_else(|| {
                Error::msg(format!(
                    "{scenario} needs --flow-client-id/--flow-client-secret (or --client-*) and --user/--password"
                ))
            })?;
            let (ctx, preflight_ok) = code_flow::prepare(scenario.name(), ep, flow, s.timeout).await?;
            let load = if scenario == Scenario::CodeFlow { Load::CodeFlow(ctx) } else { Load::Refresh(ctx) };
            Ok(Prepared { load, preflight_ok })
        }
        Scenario::Jwks => {
            let url = ep.jwks.as_ref().ok_or_else(|| Error::msg("no jwks_uri advertised"))?;
            let addr = url.resolve().await?;
            let template = RequestTemplate::get(url, addr)?;
            let resp = client::fetch(addr, template.build(), s.timeout).await?;
            let preflight_ok = match check_jwks(resp.status.as_u16(), &resp.body) {
                Ok(n) => {
                    note(scenario, format_args!("{n} keys, bytes={}", resp.body.len()));
                    true
                }
                Err(e) => {
                    problem(scenario, e);
                    false
                }
            };
            Ok(Prepared { load: Load::Repeat(Box::new(template)), preflight_ok })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(s.name().parse::<Scenario>(), Ok(s));
        }
        assert!("cc_foo".parse::<Scenario>().is_err());
    }

    #[test]
    fn form_bodies() {
        assert_eq!(
            cc_body(Some("api:read"), Some("urn:bench:jwt")),
            "grant_type=client_credentials&scope=api%3Aread&resource=urn%3Abench%3Ajwt"
        );
        assert_eq!(cc_body(Some(""), None), "grant_type=client_credentials");
        assert_eq!(cc_body(Some("a b"), Some("")), "grant_type=client_credentials&scope=a+b");
        assert_eq!(introspect_body("x+y/z"), "token=x%2By%2Fz&token_type_hint=access_token");
    }

    #[test]
    fn token_response_checks() {
        let ok = br#"{"access_token":"opaque-value","token_type":"Bearer","expires_in":3600}"#;
        let c = check_token_response(200, ok, TokenFormat::Opaque).expect("valid");
        assert_eq!(c.token, "opaque-value");
        assert_eq!(c.warning, None);
        let c = check_token_response(200, ok, TokenFormat::Jwt).expect("valid");
        assert!(c.warning.is_some());
        assert!(check_token_response(401, ok, TokenFormat::Opaque).is_err());
        assert!(check_token_response(200, br#"{"error":"invalid_client"}"#, TokenFormat::Jwt).is_err());
        assert!(check_token_response(200, br#"{"access_token":""}"#, TokenFormat::Jwt).is_err());
    }

    #[test]
    fn introspection_and_jwks_checks() {
        assert!(check_introspection(200, br#"{"active":true,"scope":"api:read"}"#).is_ok());
        assert!(check_introspection(200, br#"{"active":false}"#).is_err());
        assert!(check_introspection(200, br#"{"active":"true"}"#).is_err());
        assert!(check_introspection(401, br#"{"active":true}"#).is_err());
        assert_eq!(check_jwks(200, br#"{"keys":[{"kty":"EC"}]}"#), Ok(1));
        assert!(check_jwks(200, br#"{"keys":[]}"#).is_err());
    }
}
