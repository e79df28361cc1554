//! `/authorize` (GET and POST): validate the request, then decide what the end-user must do
//! (OpenID Connect Core 3.1.2.3-3.1.2.4): sign in, give consent, or nothing, in which case the
//! response is issued at once. `prompt=none` turns each needed step into an error for the
//! client instead (Core 3.1.2.6).

use std::sync::Arc;

use http::HeaderMap;
use tessera_core::authorize::{self, AuthorizationRequest};
use tessera_core::error::{OAuthError, Reason};
use tessera_core::form::Form;
use tessera_core::grants::authorization_code::Authentication;
use tessera_core::model::{Client, Consent, UnixSecs};

use super::session::{self, Current};
use super::{
    Input, MAX_AUTHORIZATION_REQUEST_BYTES, PageError, consent, deliver, deliver_error, error_page, login,
};
use crate::app::{App, TenantCx};
use crate::endpoints::store_error;
use crate::http::respond::Resp;
use crate::util::now;

/// A validated authorization request in progress, with what every step needs.
pub struct Flow<'a> {
    /// The server.
    pub app: &'a App,
    /// The tenant.
    pub cx: &'a TenantCx,
    /// The browser's request headers (cookies).
    pub headers: &'a HeaderMap,
    /// The client.
    pub client: &'a Client,
    /// The validated request.
    pub req: &'a AuthorizationRequest,
    /// The raw request, encoded for the forms' hidden `request` field.
    pub request_field: &'a str,
}

impl Flow<'_> {
    /// Answers the client with an error at its redirect URI.
    pub fn fail(&self, err: OAuthError) -> Resp {
        deliver_error(self.cx, self.req.error(err))
    }
}

/// Parses and validates an authorization request from its raw parameters. Any failure is
/// already the answer: a page, or a redirect to the client (boxed: a response is large and the
/// failure is the rare path).
pub fn validate(
    app: &App,
    cx: &TenantCx,
    raw: &[u8],
) -> Result<(Arc<Client>, AuthorizationRequest), Box<Resp>> {
    if raw.len() > MAX_AUTHORIZATION_REQUEST_BYTES {
        let err = PageError::BadRequest("The sign-in request is too large.".into());
        return Err(Box::new(error_page(Some(cx), err)));
    }
    // Repeated parameters are read (first value kept) rather than refused here: RFC 6749
    // 4.1.2.1 sends that error to the client when client_id and redirect_uri are sound.
    let (form, repeated) =
        Form::parse_first(raw).map_err(|e| Box::new(error_page(Some(cx), PageError::invalid_request(&e))))?;
    let client_id = authorize::client_id(&form).map_err(|e| Box::new(deliver_error(cx, e)))?;
    let client =
        app.store.client(&cx.tenant.id, client_id).map_err(|e| Box::new(error_page(Some(cx), e.into())))?;
    if !repeated.is_empty() {
        let err = authorize::repeated_parameter(&form, client.as_deref(), &repeated);
        return Err(Box::new(deliver_error(cx, err)));
    }
    let req = authorize::validate(&form, client.as_deref()).map_err(|e| Box::new(deliver_error(cx, e)))?;
    let client = client.ok_or_else(|| {
        Box::new(error_page(Some(cx), PageError::Internal("request validated without a client".into())))
    })?;
    Ok((client, req))
}

/// A POST of one of the flow's own forms (`/login`, `/consent`): the form parsed, its CSRF
/// token checked, and the authorization request it carries validated again (it is as
/// untrusted as the original query, and the client may have changed meanwhile). `form_name`
/// names the form in the page shown when the request field is missing.
pub struct FormPost<'a> {
    /// The parsed form.
    pub form: Form<'a>,
    /// The client the carried request names.
    pub client: Arc<Client>,
    /// The carried request, validated.
    pub req: AuthorizationRequest,
}

/// Reads a [`FormPost`]; any failure is already the answer (boxed, as in [`validate`]).
pub fn form_post<'a>(
    app: &App,
    cx: &TenantCx,
    raw: &'a [u8],
    headers: &HeaderMap,
    form_name: &str,
) -> Result<FormPost<'a>, Box<Resp>> {
    let page = |err: PageError| Box::new(error_page(Some(cx), err));
    let form = Form::parse(raw).map_err(|e| page(PageError::BadRequest(e.description)))?;
    if !super::csrf::check(headers, &form) {
        return Err(page(PageError::FormExpired));
    }
    let Some(raw_request) = form.get("request").and_then(super::decode_request) else {
        return Err(page(PageError::BadRequest(format!(
            "The {form_name} form lost its request; start again."
        ))));
    };
    let (client, req) = validate(app, cx, &raw_request)?;
    Ok(FormPost { form, client, req })
}

/// `GET|POST /authorize`.
pub async fn handle(app: &App, cx: &TenantCx, input: &Input) -> Resp {
    let (client, req) = match validate(app, cx, &input.raw) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let request_field = super::encode_request(&input.raw);
    let flow =
        Flow { app, cx, headers: &input.headers, client: &client, req: &req, request_field: &request_field };
    let now = now();
    match session::current(app, cx, &input.headers, now) {
        Ok(current) => decide(&flow, current, false, now).await,
        Err(err) => flow.fail(store_error(err)),
    }
}

/// Whether the session is too old or the request asks for a new login anyway. `max_age=0`
/// always asks: Core 3.1.2.1 makes it equivalent to `prompt=login`, and a login less than a
/// second old must not slip through.
fn needs_login(req: &AuthorizationRequest, session: &tessera_core::model::Session, now: UnixSecs) -> bool {
    let too_old = req.max_age_secs.is_some_and(|max| {
        max == 0 || now.saturating_sub(session.auth_time) > i64::try_from(max).unwrap_or(i64::MAX)
    });
    req.prompt.login || req.prompt.select_account || too_old
}

/// Whether remembered consent covers every scope of the request. No record at all never
/// covers, even an empty scope: the end-user approves a client once before it learns who they
/// are.
fn covers(consent: Option<&Consent>, scope: &str) -> bool {
    consent
        .is_some_and(|c| scope.split(' ').filter(|s| !s.is_empty()).all(|s| c.scope.iter().any(|g| g == s)))
}

/// The step after validation (and after a login, with `fresh_login`, which satisfies
/// `prompt=login` and `max_age` by itself: asking again would loop).
pub async fn decide(flow: &Flow<'_>, current: Option<Current>, fresh_login: bool, now: UnixSecs) -> Resp {
    let current = match current {
        Some(c) if fresh_login || !needs_login(flow.req, &c.session, now) => c,
        _ if flow.req.prompt.none => {
            return flow.fail(OAuthError::new(Reason::LoginRequired, "the end-user is not signed in"));
        }
        _ => return login::page(flow, flow.req.login_hint.as_deref().unwrap_or_default(), None),
    };
    if !flow.client.first_party {
        let consent =
            match flow.app.store.consent(&flow.cx.tenant.id, &current.user.id, &flow.client.client_id) {
                Ok(c) => c,
                Err(err) => return flow.fail(store_error(err)),
            };
        if flow.req.prompt.consent || !covers(consent.as_ref(), &flow.req.scope) {
            if flow.req.prompt.none {
                return flow.fail(OAuthError::new(Reason::ConsentRequired, "the end-user has not consented"));
            }
            return consent::page(flow, &current);
        }
    }
    issue(flow, &current).await
}

/// Issues the authorization response for the signed-in end-user.
pub async fn issue(flow: &Flow<'_>, current: &Current) -> Resp {
    let auth = Authentication {
        sub: current.user.id.clone(),
        sid: current.session.sid.clone(),
        auth_time: current.session.auth_time,
        acr: current.session.acr.clone(),
        amr: current.session.amr.clone(),
    };
    match crate::issue::authorization_response(flow.app, flow.cx, flow.client, flow.req, &auth).await {
        Ok(params) => {
            let pairs: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
            deliver(flow.cx, flow.req.success(&pairs, &flow.cx.issuer))
        }
        Err(err) => flow.fail(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::authorize::{Prompt, ResponseMode, ResponseType};
    use tessera_core::model::Session;

    fn req(prompt: Prompt, max_age_secs: Option<u64>) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: "c".into(),
            redirect_uri: "https://a.example/cb".into(),
            redirect_uri_sent: true,
            response_type: ResponseType::CODE,
            response_mode: ResponseMode::Query,
            scope: "openid profile".into(),
            openid: true,
            state: None,
            nonce: None,
            code_challenge: None,
            prompt,
            max_age_secs,
            login_hint: None,
            acr_values: None,
            ui_locales: None,
        }
    }

    fn session(auth_time: UnixSecs) -> Session {
        Session {
            tenant: "t".into(),
            sid: "s".into(),
            user_id: "u".into(),
            auth_time,
            acr: None,
            amr: vec!["pwd".into()],
            created_at: auth_time,
            expires_at: auth_time + 3600,
        }
    }

    #[test]
    fn login_is_needed_for_prompt_and_max_age() {
        let s = session(1000);
        assert!(!needs_login(&req(Prompt::default(), None), &s, 5000));
        assert!(needs_login(&req(Prompt { login: true, ..Prompt::default() }, None), &s, 1000));
        assert!(needs_login(&req(Prompt { select_account: true, ..Prompt::default() }, None), &s, 1000));
        assert!(needs_login(&req(Prompt::default(), Some(0)), &s, 1000), "max_age=0 is prompt=login");
        assert!(!needs_login(&req(Prompt::default(), Some(60)), &s, 1060));
        assert!(needs_login(&req(Prompt::default(), Some(60)), &s, 1061));
        assert!(!needs_login(&req(Prompt::default(), Some(u64::MAX)), &s, 1061));
    }

    #[test]
    fn consent_must_cover_every_scope() {
        let c = Consent {
            tenant: "t".into(),
            user_id: "u".into(),
            client_id: "c".into(),
            scope: vec!["openid".into(), "profile".into()],
            granted_at: 0,
        };
        assert!(covers(Some(&c), "openid profile"));
        assert!(covers(Some(&c), "profile"));
        assert!(covers(Some(&c), ""));
        assert!(!covers(Some(&c), "openid email"));
        assert!(!covers(None, ""), "no record never covers");
    }
}
