//! Carries out an authorization's next step: asks `core::interaction` what comes next for the
//! browser's end-user (OpenID Connect Core 3.1.2.3-3.1.2.6), looks up the remembered consent
//! when it asks for it, and answers with the login page, the consent page, the authorization
//! response, or an error for the client. `/authorize`, `/login` and `/consent` all end here,
//! so none of them calls another.

use tessera_core::interaction::{self, Authenticated, Facts, Remembered, Step};
use tessera_core::model::{Consent, UnixSecs};

use super::federated::start;
use super::flow::Flow;
use super::session::Current;
use super::{deliver, error_page, prompts};
use crate::http::respond::{PageError, Resp, store_error};

/// The browser's end-user, as the next step sees them.
pub enum EndUser {
    /// Nobody is signed in.
    Anonymous,
    /// The end-user of the browser's existing session.
    Session(Current),
    /// The end-user who signed in with this very request: that satisfies `prompt=login` and
    /// `max_age` by itself.
    JustSignedIn(Current),
}

impl EndUser {
    fn authenticated(&self) -> Authenticated {
        match self {
            Self::Anonymous => Authenticated::No,
            Self::Session(current) => Authenticated::Since(current.session.auth.auth_time),
            Self::JustSignedIn(_) => Authenticated::JustNow,
        }
    }

    fn current(&self) -> Option<&Current> {
        match self {
            Self::Anonymous => None,
            Self::Session(current) | Self::JustSignedIn(current) => Some(current),
        }
    }
}

/// Answers `flow` with its next step for `user` at `now`.
pub async fn proceed(flow: &Flow<'_>, user: &EndUser, now: UnixSecs) -> Resp {
    // Declared before the facts that borrow it.
    let remembered: Option<Consent>;
    let mut facts = Facts::new(flow.req, flow.client, user.authenticated());
    let mut step = interaction::next_step(&facts, now);
    if step == Step::LookUpConsent {
        // The policy asks only once someone is signed in; nobody has consented to nothing.
        remembered = match user.current() {
            Some(current) => {
                match flow
                    .app
                    .store
                    .consent(&flow.cx.tenant.id, &current.user.id, &flow.client.client_id)
                    .await
                {
                    Ok(consent) => consent,
                    Err(err) => return flow.fail(store_error(err)),
                }
            }
            None => None,
        };
        facts.consent = match &remembered {
            Some(consent) => Remembered::Scopes(&consent.scope),
            None => Remembered::Nothing,
        };
        step = interaction::next_step(&facts, now);
    }
    match (step, user.current()) {
        (Step::Login, _) => match start::hinted(flow) {
            Some(idp) => start::start(flow, idp).await,
            None => prompts::first_login(flow),
        },
        (Step::Refuse(err), _) => flow.fail(err),
        (Step::Consent, Some(current)) => prompts::consent(flow, current),
        (Step::Issue, Some(current)) => issue(flow, current).await,
        (step, _) => error_page(
            Some(flow.cx),
            PageError::Internal(format!("interaction step {step:?} cannot be taken here")),
        ),
    }
}

/// Issues the authorization response for the signed-in end-user.
pub async fn issue(flow: &Flow<'_>, current: &Current) -> Resp {
    let auth = &current.session.auth;
    let user = &current.user;
    match crate::issue::authorization_response(flow.app, flow.cx, flow.client, flow.req, auth, user).await {
        Ok(params) => {
            let pairs: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
            deliver(flow.cx, flow.req.success(&pairs, &flow.cx.issuer))
        }
        Err(err) => flow.fail(err),
    }
}
