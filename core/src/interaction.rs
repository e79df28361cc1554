//! What an authorization request needs next from the end-user (OpenID Connect Core
//! 3.1.2.3-3.1.2.6): to sign in, to consent, nothing (the response is issued), or, under
//! `prompt=none`, nothing it may be asked for, so the client gets `login_required` or
//! `consent_required` instead of a page.
//!
//! Like node-oidc-provider's interaction policy, the decision is data in, a step out: the
//! request's `prompt`, `max_age` and scope, whether the client is first-party, who is signed in
//! and since when, and what the end-user consented to before. The `/authorize`, `/login` and
//! `/consent` handlers all ask [`next_step`] and carry out its answer, instead of calling each
//! other. Remembered consent costs a store read, so it is a fact the policy asks for
//! ([`Step::LookUpConsent`]) only when it needs it: a request that must sign in first, or a
//! first-party client, never reads it.

use crate::authorize::{AuthorizationRequest, Prompt};
use crate::error::{OAuthError, Reason};
use crate::model::{Client, UnixSecs};
use crate::scope;

/// Who is signed in, as far as the next step is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authenticated {
    /// Nobody: no session, or one that ended.
    No,
    /// An existing session, signed in at this time (its `auth_time`).
    Since(UnixSecs),
    /// A login this very request made: it satisfies `prompt=login` and `max_age` by itself
    /// (asking again would loop).
    JustNow,
}

/// What the signed-in end-user consented to before, for this client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remembered<'a> {
    /// Not read yet: [`next_step`] answers [`Step::LookUpConsent`] when it needs it.
    NotLookedUp,
    /// No consent record.
    Nothing,
    /// The scopes of the consent record.
    Scopes(&'a [String]),
}

/// The facts the next step depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts<'a> {
    /// The request's `prompt` values.
    pub prompt: Prompt,
    /// The request's `max_age`, in seconds.
    pub max_age_secs: Option<u64>,
    /// The scope the request would grant, space-delimited.
    pub scope: &'a str,
    /// Whether the client is the tenant's own: its users are never asked for consent.
    pub first_party: bool,
    /// Who is signed in.
    pub authenticated: Authenticated,
    /// What was consented to before.
    pub consent: Remembered<'a>,
}

impl<'a> Facts<'a> {
    /// The facts of a validated request of `client`, with remembered consent not looked up.
    pub fn new(req: &'a AuthorizationRequest, client: &Client, authenticated: Authenticated) -> Self {
        Self {
            prompt: req.prompt,
            max_age_secs: req.max_age_secs,
            scope: &req.scope,
            first_party: client.first_party,
            authenticated,
            consent: Remembered::NotLookedUp,
        }
    }
}

/// What happens next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Show the login form.
    Login,
    /// Read the end-user's remembered consent for the client into [`Facts::consent`] and ask
    /// again.
    LookUpConsent,
    /// Show the consent page.
    Consent,
    /// Issue the authorization response to the signed-in end-user.
    Issue,
    /// Answer the client with this error (`prompt=none` and an interaction was needed).
    Refuse(OAuthError),
}

/// The next step of an authorization request at time `now`.
pub fn next_step(facts: &Facts<'_>, now: UnixSecs) -> Step {
    let signed_in = match facts.authenticated {
        Authenticated::No => false,
        Authenticated::JustNow => true,
        Authenticated::Since(auth_time) => !needs_login(facts, auth_time, now),
    };
    if !signed_in {
        if facts.prompt.none {
            return Step::Refuse(OAuthError::new(Reason::LoginRequired, "the end-user is not signed in"));
        }
        return Step::Login;
    }
    if facts.first_party {
        return Step::Issue;
    }
    let granted = match facts.consent {
        Remembered::NotLookedUp => return Step::LookUpConsent,
        Remembered::Nothing => None,
        Remembered::Scopes(scopes) => Some(scopes),
    };
    if facts.prompt.consent || !covers(granted, facts.scope) {
        if facts.prompt.none {
            return Step::Refuse(OAuthError::new(Reason::ConsentRequired, "the end-user has not consented"));
        }
        return Step::Consent;
    }
    Step::Issue
}

/// Whether a session signed in at `auth_time` is too old, or the request asks for a new login
/// anyway. `max_age=0` always asks: Core 3.1.2.1 makes it equivalent to `prompt=login`, and a
/// login less than a second old must not slip through.
fn needs_login(facts: &Facts<'_>, auth_time: UnixSecs, now: UnixSecs) -> bool {
    let too_old = facts.max_age_secs.is_some_and(|max| {
        max == 0 || now.saturating_sub(auth_time) > i64::try_from(max).unwrap_or(i64::MAX)
    });
    facts.prompt.login || facts.prompt.select_account || too_old
}

/// Whether remembered consent covers every scope of the request. No record at all never
/// covers, even an empty scope: the end-user approves a client once before it learns who they
/// are.
fn covers(granted: Option<&[String]>, scope: &str) -> bool {
    granted.is_some_and(|g| scope::values(scope).all(|s| g.iter().any(|x| x == s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixSecs = 10_000;

    fn facts(prompt: Prompt, max_age_secs: Option<u64>, authenticated: Authenticated) -> Facts<'static> {
        Facts {
            prompt,
            max_age_secs,
            scope: "openid profile",
            first_party: false,
            authenticated,
            consent: Remembered::NotLookedUp,
        }
    }

    fn prompt_none() -> Prompt {
        Prompt { none: true, ..Prompt::default() }
    }

    /// The next step once the consent record (if asked for) holds `granted`.
    fn with_consent<'a>(mut f: Facts<'a>, granted: Remembered<'a>) -> Step {
        match next_step(&f, NOW) {
            Step::LookUpConsent => {
                f.consent = granted;
                let step = next_step(&f, NOW);
                assert_ne!(step, Step::LookUpConsent, "asked twice for the same fact");
                step
            }
            step => step,
        }
    }

    fn reason(step: Step) -> Option<Reason> {
        match step {
            Step::Refuse(err) => Some(err.reason),
            _ => None,
        }
    }

    #[test]
    fn nobody_signed_in_must_log_in_or_the_client_hears_login_required() {
        assert_eq!(next_step(&facts(Prompt::default(), None, Authenticated::No), NOW), Step::Login);
        let step = next_step(&facts(prompt_none(), None, Authenticated::No), NOW);
        assert_eq!(reason(step), Some(Reason::LoginRequired));
    }

    #[test]
    fn login_is_needed_for_prompt_and_max_age() {
        let at = |prompt, max_age, auth_time, now| {
            next_step(&facts(prompt, max_age, Authenticated::Since(auth_time)), now) == Step::Login
        };
        assert!(!at(Prompt::default(), None, 1000, 5000));
        assert!(at(Prompt { login: true, ..Prompt::default() }, None, 1000, 1000));
        assert!(at(Prompt { select_account: true, ..Prompt::default() }, None, 1000, 1000));
        assert!(at(Prompt::default(), Some(0), 1000, 1000), "max_age=0 is prompt=login");
        assert!(!at(Prompt::default(), Some(60), 1000, 1060));
        assert!(at(Prompt::default(), Some(60), 1000, 1061));
        assert!(!at(Prompt::default(), Some(u64::MAX), 1000, 1061));
    }

    #[test]
    fn a_session_too_old_under_prompt_none_is_login_required() {
        let step = next_step(&facts(prompt_none(), Some(60), Authenticated::Since(NOW - 61)), NOW);
        assert_eq!(reason(step), Some(Reason::LoginRequired));
    }

    #[test]
    fn a_fresh_login_satisfies_prompt_login_and_max_age() {
        let f = facts(Prompt { login: true, ..Prompt::default() }, Some(0), Authenticated::JustNow);
        assert_eq!(next_step(&f, NOW), Step::LookUpConsent);
    }

    #[test]
    fn consent_is_looked_up_only_when_needed() {
        let signed_in = Authenticated::Since(NOW);
        assert_eq!(next_step(&facts(Prompt::default(), None, signed_in), NOW), Step::LookUpConsent);
        let needs_login = facts(Prompt { login: true, ..Prompt::default() }, None, signed_in);
        assert_eq!(next_step(&needs_login, NOW), Step::Login, "no consent read before the login");
        let first_party = Facts { first_party: true, ..facts(Prompt::default(), None, signed_in) };
        assert_eq!(next_step(&first_party, NOW), Step::Issue, "first-party clients skip consent");
        let first_party_forced = Facts {
            first_party: true,
            ..facts(Prompt { consent: true, ..Prompt::default() }, None, signed_in)
        };
        assert_eq!(next_step(&first_party_forced, NOW), Step::Issue, "even with prompt=consent");
    }

    #[test]
    fn consent_must_cover_every_scope() {
        let granted = ["openid".to_owned(), "profile".to_owned()];
        let signed_in = facts(Prompt::default(), None, Authenticated::Since(NOW));
        let scope = |scope| Facts { scope, ..signed_in };
        assert_eq!(with_consent(scope("openid profile"), Remembered::Scopes(&granted)), Step::Issue);
        assert_eq!(with_consent(scope("profile"), Remembered::Scopes(&granted)), Step::Issue);
        assert_eq!(with_consent(scope(""), Remembered::Scopes(&granted)), Step::Issue);
        assert_eq!(with_consent(scope("openid email"), Remembered::Scopes(&granted)), Step::Consent);
        assert_eq!(with_consent(scope(""), Remembered::Nothing), Step::Consent, "no record never covers");
    }

    #[test]
    fn prompt_consent_asks_again_and_prompt_none_refuses() {
        let granted = ["openid".to_owned(), "profile".to_owned()];
        let signed_in = Authenticated::Since(NOW);
        let again = facts(Prompt { consent: true, ..Prompt::default() }, None, signed_in);
        assert_eq!(with_consent(again, Remembered::Scopes(&granted)), Step::Consent);
        let silent = facts(prompt_none(), None, signed_in);
        assert_eq!(with_consent(silent, Remembered::Scopes(&granted)), Step::Issue);
        assert_eq!(reason(with_consent(silent, Remembered::Nothing)), Some(Reason::ConsentRequired));
    }

    #[test]
    fn facts_come_from_the_request_and_the_client() {
        let req = AuthorizationRequest {
            client_id: "c".into(),
            redirect_uri: "https://a.example/cb".into(),
            redirect_uri_sent: true,
            response_type: crate::authorize::ResponseType::CODE,
            response_mode: crate::authorize::ResponseMode::Query,
            scope: "openid email".into(),
            openid: true,
            state: None,
            nonce: None,
            code_challenge: None,
            prompt: Prompt { consent: true, ..Prompt::default() },
            max_age_secs: Some(30),
            login_hint: None,
            idp_hint: None,
            acr_values: None,
            ui_locales: None,
            resource: None,
        };
        let client = Client { first_party: true, ..crate::model::sample_client() };
        let f = Facts::new(&req, &client, Authenticated::JustNow);
        assert_eq!(f.scope, "openid email");
        assert_eq!(f.max_age_secs, Some(30));
        assert!(f.prompt.consent && f.first_party);
        assert_eq!(f.consent, Remembered::NotLookedUp);
    }
}
