//! The resource owner password credentials grant (RFC 6749 4.3), checked by a chain of
//! identity validators: the tenant's HTTP validators that serve the requested API, newest
//! first, with the local user directory at its configured place ([`chain`]). The server asks
//! them in order; the first that accepts ends the chain ([`Verdict`]). Everything here is the
//! protocol's part: which validators, what they are sent ([`validator_body`]), how an answer
//! reads ([`read_answer`]) and what a chain's answers add up to. The HTTP calls, their circuit
//! breakers and the local password check are the server's.

use crate::error::{OAuthError, Reason};
use crate::form::Form;
use crate::grants::plan::{IssuePlan, RefreshPlan};
use crate::model::{Client, IdentityValidator, Tenant, is_valid_username};
use crate::scope;

/// Largest `extraInfo` a validator may return, as JSON text: it travels in every access token.
pub const MAX_EXTRA_INFO_BYTES: usize = 4096;
/// Largest answer read from a validator; a longer one is a failure, not an acceptance.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;
/// Longest `sub` a validator may name.
pub const MAX_SUB_BYTES: usize = 255;
/// Longest password read from a request (bytes); a longer one is refused before any work.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Parameters that authenticate the client: never forwarded to a validator.
const CLIENT_CREDENTIALS: [&str; 3] = ["client_secret", "client_assertion", "client_assertion_type"];

/// The grant-specific fields of a `password` token request (RFC 6749 4.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The resource owner's username.
    pub username: &'a str,
    /// Their password.
    pub password: &'a str,
    /// The requested scope, if any.
    pub scope: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// Reads the fields from a token request whose `grant_type` is `password`.
    pub fn parse(form: &'a Form<'_>) -> Result<Self, OAuthError> {
        let username = form.require("username")?;
        let password = form.require("password")?;
        if username.chars().count() > 320 || username.chars().any(char::is_control) {
            return Err(OAuthError::new(Reason::MalformedParameter, "username is malformed"));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(OAuthError::new(Reason::MalformedParameter, "password is too long"));
        }
        Ok(Self { username, password, scope: form.get("scope") })
    }

    /// Whether the username could name a local user at all (the local directory is skipped,
    /// as a rejection, when it cannot).
    pub fn could_be_local(&self) -> bool {
        is_valid_username(self.username) || self.username.contains('@')
    }
}

/// One link of the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'t> {
    /// The tenant's own users.
    LocalDirectory,
    /// An HTTP validator.
    Remote(&'t IdentityValidator),
}

/// The validators a password grant for the API `api_id` (`None`: no resource) asks, in
/// order: those that serve it, newest first (ties by id, so the order is stable), with the
/// local directory at `settings.local_directory_position` (last when unset).
pub fn chain<'t>(tenant: &'t Tenant, api_id: Option<&str>) -> Vec<Step<'t>> {
    let mut remotes: Vec<&IdentityValidator> =
        tenant.identity_validators.iter().filter(|v| v.serves(api_id)).collect();
    remotes.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
    let mut steps: Vec<Step<'t>> = remotes.into_iter().map(Step::Remote).collect();
    let at = tenant.settings.local_directory_position.map_or(steps.len(), |p| (p as usize).min(steps.len()));
    steps.insert(at, Step::LocalDirectory);
    steps
}

/// Credentials a validator accepted: the subject, what to add to the token, and which
/// validator it was (`None`: the local directory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The subject.
    pub sub: String,
    /// The validator's `extraInfo`.
    pub extra_info: Option<serde_json::Map<String, serde_json::Value>>,
    /// The id of the HTTP validator, or `None` for the local directory.
    pub validator: Option<String>,
}

/// What one validator said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The credentials are good: the subject, and what to add to the token.
    Accepted {
        /// The subject the validator named, or the username.
        sub: String,
        /// Its `extraInfo`, if any.
        extra_info: Option<serde_json::Map<String, serde_json::Value>>,
    },
    /// The validator does not know these credentials (401 or 403): ask the next.
    Rejected,
    /// The validator could not be asked or gave no usable answer (timeout, connection
    /// refused, 5xx, a malformed 2xx, an open circuit): its opinion is unknown.
    Failed(String),
}

/// The JSON object a validator is sent: every parameter the client sent but its own
/// credentials (`client_secret`, an assertion), values as strings.
pub fn validator_body(form: &Form<'_>) -> serde_json::Map<String, serde_json::Value> {
    form.pairs()
        .filter(|(name, _)| !CLIENT_CREDENTIALS.contains(name))
        .map(|(name, value)| (name.to_owned(), serde_json::Value::String(value.to_owned())))
        .collect()
}

/// Reads a validator's answer: a 2xx accepts, with an optional JSON object carrying `sub` (a
/// non-empty string) and `extraInfo` (an object of at most [`MAX_EXTRA_INFO_BYTES`]); a 401 or
/// 403 rejects; anything else, and a 2xx whose body is not such an object, failed. A body
/// that is malformed never becomes an acceptance: a directory that answers nonsense is down,
/// not a yes.
pub fn read_answer(status: u16, body: &[u8], username: &str) -> Answer {
    match status {
        200..=299 => accepted(body, username).unwrap_or_else(Answer::Failed),
        401 | 403 => Answer::Rejected,
        other => Answer::Failed(format!("answered {other}")),
    }
}

fn accepted(body: &[u8], username: &str) -> Result<Answer, String> {
    if body.len() > MAX_ANSWER_BYTES {
        return Err("the answer is too large".into());
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Answer::Accepted { sub: username.to_owned(), extra_info: None });
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let serde_json::Value::Object(mut object) = value else {
        return Err("the answer is not a JSON object".into());
    };
    let sub = match object.remove("sub") {
        None | Some(serde_json::Value::Null) => username.to_owned(),
        Some(serde_json::Value::String(s))
            if !s.is_empty() && s.len() <= MAX_SUB_BYTES && !s.chars().any(char::is_control) =>
        {
            s
        }
        Some(_) => return Err(format!("sub must be a string of 1 to {MAX_SUB_BYTES} bytes")),
    };
    let extra_info = match object.remove("extraInfo") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Object(extra)) => {
            let len = serde_json::to_string(&extra).map_or(usize::MAX, |s| s.len());
            if len > MAX_EXTRA_INFO_BYTES {
                return Err(format!("extraInfo is larger than {MAX_EXTRA_INFO_BYTES} bytes"));
            }
            Some(extra)
        }
        Some(_) => return Err("extraInfo must be an object".into()),
    };
    Ok(Answer::Accepted { sub, extra_info })
}

/// What a chain's answers add up to, as they come in.
#[derive(Debug, Default)]
pub struct Verdict {
    /// The validators that failed to answer, by name, with why.
    pub failed: Vec<String>,
}

impl Verdict {
    /// Notes the answer of `step`, named `name`; returns the acceptance that ends the chain.
    pub fn note(&mut self, step: Step<'_>, name: &str, answer: Answer) -> Option<Accepted> {
        match answer {
            Answer::Accepted { sub, extra_info } => {
                let validator = match step {
                    Step::LocalDirectory => None,
                    Step::Remote(v) => Some(v.id.clone()),
                };
                Some(Accepted { sub, extra_info, validator })
            }
            Answer::Rejected => None,
            Answer::Failed(why) => {
                self.failed.push(format!("{name}: {why}"));
                None
            }
        }
    }

    /// The refusal when no validator accepted: `invalid_grant` when every one rejected, and
    /// `temporarily_unavailable` when any could not be asked. A user whose directory is down
    /// is never told their password is wrong.
    pub fn refusal(self) -> OAuthError {
        if self.failed.is_empty() {
            OAuthError::new(Reason::CredentialsRejected, "the username or password is not correct")
        } else {
            OAuthError::new(
                Reason::ValidatorsUnavailable,
                "the credentials could not be checked now; try again later",
            )
        }
    }
}

/// Plans the tokens for credentials a validator accepted as `sub`: an access token within the
/// scope the client registered (requested or, when none was, all of it). No ID token and no
/// refresh token: the subject may live only in an external directory, so there is no login
/// session to refresh and no local account whose standing a refresh could check.
pub fn plan(
    req: &Request<'_>,
    client: &Client,
    accepted: Accepted,
    jti: String,
) -> Result<IssuePlan, OAuthError> {
    Ok(IssuePlan {
        sub: accepted.sub,
        scope: scope::grant(req.scope, &client.scope)?,
        target: None,
        jti,
        refresh: RefreshPlan::None,
        id_token: None,
        entitlements: crate::rbac::none(),
        extra_info: accepted.extra_info,
        validator: accepted.validator,
        direct: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::model::{TenantSettings, sample_client};

    fn validator(id: &str, created_at: i64, apis: &[&str]) -> IdentityValidator {
        IdentityValidator {
            id: id.into(),
            name: id.into(),
            url: "http://127.0.0.1/".into(),
            timeout_ms: 1000,
            headers: vec![],
            apis: apis.iter().map(|a| (*a).to_owned()).collect(),
            created_at,
        }
    }

    fn names(steps: &[Step<'_>]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                Step::LocalDirectory => "local".to_owned(),
                Step::Remote(v) => v.id.clone(),
            })
            .collect()
    }

    #[test]
    fn the_chain_is_newest_first_with_the_local_directory_in_its_place() {
        let mut t = Tenant::new("t".into(), "t".into(), TenantSettings::default(), 0);
        t.identity_validators =
            vec![validator("old", 1, &[]), validator("orders", 2, &["a1"]), validator("new", 3, &[])];
        assert_eq!(names(&chain(&t, None)), ["new", "old", "local"]);
        assert_eq!(names(&chain(&t, Some("a1"))), ["new", "orders", "old", "local"]);
        assert_eq!(names(&chain(&t, Some("a2"))), ["new", "old", "local"]);
        t.settings.local_directory_position = Some(0);
        assert_eq!(names(&chain(&t, Some("a1"))), ["local", "new", "orders", "old"]);
        t.settings.local_directory_position = Some(1);
        assert_eq!(names(&chain(&t, None)), ["new", "local", "old"]);
        t.settings.local_directory_position = Some(99);
        assert_eq!(names(&chain(&t, None)), ["new", "old", "local"]);
    }

    #[test]
    fn answers_read_strictly() {
        let ok = |sub: &str| Answer::Accepted { sub: sub.into(), extra_info: None };
        assert_eq!(read_answer(200, b"", "alice"), ok("alice"));
        assert_eq!(read_answer(204, b"  ", "alice"), ok("alice"));
        assert_eq!(read_answer(200, br#"{"sub":"u-1"}"#, "alice"), ok("u-1"));
        let Answer::Accepted { extra_info: Some(extra), .. } =
            read_answer(200, br#"{"extraInfo":{"tier":"gold"}}"#, "alice")
        else {
            panic!("extraInfo read")
        };
        assert_eq!(extra["tier"], "gold");
        assert_eq!(read_answer(401, b"", "alice"), Answer::Rejected);
        assert_eq!(read_answer(403, b"{}", "alice"), Answer::Rejected);
        for (status, body) in [
            (500, &b""[..]),
            (404, b""),
            (302, b""),
            (200, b"yes"),
            (200, b"[1]"),
            (200, br#"{"sub":5}"#),
            (200, br#"{"sub":""}"#),
            (200, br#"{"extraInfo":"x"}"#),
        ] {
            assert!(matches!(read_answer(status, body, "alice"), Answer::Failed(_)), "{status} {body:?}");
        }
        let big = format!(r#"{{"extraInfo":{{"x":"{}"}}}}"#, "a".repeat(MAX_EXTRA_INFO_BYTES));
        assert!(matches!(read_answer(200, big.as_bytes(), "alice"), Answer::Failed(_)));
    }

    #[test]
    fn the_verdict_never_calls_a_password_wrong_when_a_validator_was_down() {
        let local = Step::LocalDirectory;
        let remote = validator("r", 0, &[]);
        let mut v = Verdict::default();
        assert_eq!(v.note(local, "a", Answer::Rejected), None);
        assert_eq!(v.refusal().code(), ErrorCode::InvalidGrant);
        let mut v = Verdict::default();
        assert_eq!(v.note(Step::Remote(&remote), "a", Answer::Failed("timeout".into())), None);
        assert_eq!(v.note(local, "b", Answer::Rejected), None);
        assert_eq!(v.refusal().code(), ErrorCode::TemporarilyUnavailable);
        let mut v = Verdict::default();
        v.note(local, "a", Answer::Failed("timeout".into()));
        let accepted =
            v.note(Step::Remote(&remote), "b", Answer::Accepted { sub: "s".into(), extra_info: None });
        assert_eq!(
            accepted,
            Some(Accepted { sub: "s".into(), extra_info: None, validator: Some("r".into()) })
        );
        let local_yes = v.note(local, "l", Answer::Accepted { sub: "u".into(), extra_info: None });
        assert_eq!(local_yes.and_then(|a| a.validator), None, "the local directory is no validator");
    }

    #[test]
    fn the_client_secret_is_never_forwarded() {
        let form = Form::parse(
            b"grant_type=password&username=a&password=p&client_id=c&client_secret=s&scope=read&client_assertion=x",
        )
        .expect("form");
        let body = validator_body(&form);
        assert!(!body.contains_key("client_secret") && !body.contains_key("client_assertion"));
        assert_eq!(body["username"], "a");
        assert_eq!(body["password"], "p");
        assert_eq!(body["client_id"], "c");
        assert_eq!(body["scope"], "read");
    }

    #[test]
    fn requests_need_both_credentials_and_plans_carry_the_validators_word() {
        let parse = |b: &'static str| Form::parse(b.as_bytes()).and_then(|f| Request::parse(&f).map(|_| ()));
        assert!(parse("grant_type=password&username=a&password=p").is_ok());
        assert!(parse("grant_type=password&username=a").is_err());
        assert!(parse("grant_type=password&password=p").is_err());
        let long = Box::leak(
            format!("grant_type=password&username=a&password={}", "p".repeat(2000)).into_boxed_str(),
        );
        assert!(parse(long).is_err());
        let req = Request { username: "a", password: "p", scope: Some("read") };
        let mut extra = serde_json::Map::new();
        extra.insert("k".into(), "v".into());
        let accepted =
            Accepted { sub: "sub-1".into(), extra_info: Some(extra.clone()), validator: Some("v".into()) };
        let p = plan(&req, &sample_client(), accepted.clone(), "j".into()).expect("plan");
        assert_eq!((p.sub.as_str(), p.scope.as_str(), p.validator.as_deref()), ("sub-1", "read", Some("v")));
        assert_eq!((p.refresh, p.id_token, p.extra_info), (RefreshPlan::None, None, Some(extra)));
        assert!(
            plan(&Request { scope: Some("admin"), ..req }, &sample_client(), accepted, "j".into()).is_err()
        );
    }
}
