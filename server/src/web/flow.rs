//! A validated authorization request in progress ([`Flow`]): reading it from `/authorize`'s
//! query or body ([`validate`]), or again from the hidden field of one of its own forms
//! ([`form_post`]), and answering the client with an error. What the end-user does next is
//! `web/interaction.rs`'s; this module knows nothing of the steps.

use std::sync::Arc;

use http::HeaderMap;
use tessera_core::authorize::{self, AuthorizationRequest};
use tessera_core::error::OAuthError;
use tessera_core::form::Form;
use tessera_core::model::Client;

use super::csrf::Purpose;
use super::{MAX_AUTHORIZATION_REQUEST_BYTES, deliver_error, error_page};
use crate::app::{App, TenantCx};
use crate::http::respond::{PageError, Resp};

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
pub async fn validate(
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
    let client = app
        .store
        .client(&cx.tenant.id, client_id)
        .await
        .map_err(|e| Box::new(error_page(Some(cx), e.into())))?;
    if !repeated.is_empty() {
        let err = authorize::repeated_parameter(&form, client.as_deref(), &repeated);
        return Err(Box::new(deliver_error(cx, err)));
    }
    let req = authorize::validate(&form, client.as_deref()).map_err(|e| Box::new(deliver_error(cx, e)))?;
    let client = client.ok_or_else(|| {
        Box::new(error_page(Some(cx), PageError::Internal("request validated without a client".into())))
    })?;
    // RFC 8707: the API `resource` names, and the scope held to it, before anyone signs in.
    let req = authorize::for_api(req, &cx.tenant, &client, form.get("scope").is_some())
        .map_err(|e| Box::new(deliver_error(cx, e)))?;
    Ok((client, req))
}

/// A POST of one of the flow's own forms (`/login`, `/consent`): the form parsed, its CSRF
/// token checked, and the authorization request it carries validated again (it is as
/// untrusted as the original query, and the client may have changed meanwhile).
pub struct FormPost<'a> {
    /// The parsed form.
    pub form: Form<'a>,
    /// The client the carried request names.
    pub client: Arc<Client>,
    /// The carried request, validated.
    pub req: AuthorizationRequest,
}

/// Reads a [`FormPost`] of the form for `purpose`; any failure is already the answer (boxed,
/// as in [`validate`]). The POST must come from our own page (`web/origin.rs`).
pub async fn form_post<'a>(
    app: &App,
    cx: &TenantCx,
    raw: &'a [u8],
    headers: &HeaderMap,
    purpose: Purpose,
) -> Result<FormPost<'a>, Box<Resp>> {
    let form_name = match purpose {
        Purpose::Login => "sign-in",
        Purpose::Consent => "consent",
        Purpose::Logout => "sign-out",
    };
    super::same_origin_form(app, cx, headers)?;
    let page = |err: PageError| Box::new(error_page(Some(cx), err));
    let form = Form::parse(raw).map_err(|e| page(PageError::BadRequest(e.description)))?;
    if !super::csrf::check(app, cx, headers, &form, purpose) {
        return Err(page(PageError::FormExpired));
    }
    let Some(raw_request) = form.get("request").and_then(super::decode_request) else {
        return Err(page(PageError::BadRequest(format!(
            "The {form_name} form lost its request; start again."
        ))));
    };
    let (client, req) = validate(app, cx, &raw_request).await?;
    Ok(FormPost { form, client, req })
}
