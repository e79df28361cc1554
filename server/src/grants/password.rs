//! The resource owner password credentials grant (RFC 6749 4.3): behind the password guard
//! (the per-username and per-address limits and lockouts the login page has, 429 with
//! `Retry-After`), asks the tenant's chain of identity validators
//! (`tessera_core::grants::password::chain`) in order until one accepts. A validator that fails
//! to answer is logged and skipped; when none accepted and any failed, the answer is 503
//! `temporarily_unavailable`, never a wrong-password. An answer either way counts for the
//! limits: a rejection as a failure, an acceptance as a success.

use std::net::IpAddr;
use tessera_core::error::{OAuthError, Reason};
use tessera_core::form::Form;
use tessera_core::grants::password::{self, Answer, Request, Step, Verdict};
use tessera_core::grants::plan::IssuePlan;

use tessera_core::model::{Api, Client};

use crate::app::{App, TenantCx};
use crate::http::respond::store_error;
use crate::password::{DUMMY_HASH, PasswordError, Permit};

/// The plan for a password request whose credentials a validator accepts.
pub async fn plan(
    app: &App,
    cx: &TenantCx,
    client: &Client,
    req: Request<'_>,
    form: &Form<'_>,
    api: Option<&Api>,
    peer: IpAddr,
) -> Result<IssuePlan, OAuthError> {
    // Before any validator is asked or any hashing done: a limited attempt costs nothing.
    let mut permit = Some(app.password_guard.check(&cx.tenant.id, req.username, peer).await?);
    let steps = password::chain(&cx.tenant, api.map(|a| a.id.as_str()));
    let mut verdict = Verdict::default();
    let mut body = None;
    for step in steps {
        let (name, answer) = match step {
            Step::LocalDirectory => ("local directory", local_directory(app, cx, &req, permit.take()).await?),
            Step::Remote(v) => {
                let body = body.get_or_insert_with(|| password::validator_body(form));
                let answer = app.validators.ask(v, body, req.username).await;
                if let Answer::Failed(why) = &answer {
                    tracing::warn!(tenant = %cx.tenant.id, validator = %v.id, name = %v.name, %why,
                        "identity validator skipped");
                }
                (v.name.as_str(), answer)
            }
        };
        if let Some(accepted) = verdict.note(step, name, answer) {
            app.password_guard.record_success(&cx.tenant.id, req.username);
            return password::plan(&req, client, accepted, super::fresh_jti()?);
        }
    }
    let refusal = verdict.refusal();
    if refusal.reason == Reason::CredentialsRejected {
        app.password_guard.record_failure(&cx.tenant.id, req.username);
    }
    Err(refusal)
}

/// The local directory's answer: the user's id when the password verifies and the user is
/// enabled; a rejection otherwise, after the same argon2id work whether or not the user
/// exists, so the timing does not tell. Too much password work at once is a failure to
/// answer (503), like a validator that is down.
async fn local_directory(
    app: &App,
    cx: &TenantCx,
    req: &Request<'_>,
    permit: Option<Permit<'_>>,
) -> Result<Answer, OAuthError> {
    let Some(permit) = permit.filter(|_| req.could_be_local()) else { return Ok(Answer::Rejected) };
    let user =
        crate::end_users::find_by_login_name(app, &cx.tenant.id, req.username).await.map_err(store_error)?;
    let hash = user.as_ref().map_or_else(|| DUMMY_HASH.to_owned(), |u| u.password_hash.clone());
    let verified = match permit.verify(req.password.to_owned(), hash).await {
        Ok(verified) => verified,
        Err(PasswordError::Busy { .. }) => return Ok(Answer::Failed("password checks at capacity".into())),
        Err(PasswordError::Failed(detail)) => return Err(OAuthError::new(Reason::Internal, detail)),
    };
    Ok(match user {
        Some(user) if verified && !user.disabled => Answer::Accepted { sub: user.id, extra_info: None },
        Some(user) if verified => {
            tracing::info!(tenant = %cx.tenant.id, user = %user.id, "password grant refused: the user is disabled");
            Answer::Rejected
        }
        _ => Answer::Rejected,
    })
}
