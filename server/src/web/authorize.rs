//! `/authorize` (GET and POST): validate the request, then take its next step for the
//! browser's session (OpenID Connect Core 3.1.2.3-3.1.2.4): sign in, give consent, or nothing,
//! in which case the response is issued at once. `prompt=none` turns each needed step into an
//! error for the client instead (Core 3.1.2.6). The decision is `core::interaction`'s.

use super::Input;
use super::flow::{Flow, validate};
use super::interaction::{EndUser, proceed};
use super::session;
use crate::app::{App, TenantCx};
use crate::http::respond::{Resp, store_error};
use crate::util::now;

/// `GET|POST /authorize`.
pub async fn handle(app: &App, cx: &TenantCx, input: &Input) -> Resp {
    let (client, req) = match validate(app, cx, &input.raw).await {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let request_field = super::encode_request(&input.raw);
    let flow =
        Flow { app, cx, headers: &input.headers, client: &client, req: &req, request_field: &request_field };
    let now = now();
    let user = match session::current(app, cx, &input.headers, now).await {
        Ok(Some(current)) => EndUser::Session(current),
        Ok(None) => EndUser::Anonymous,
        Err(err) => return flow.fail(store_error(err)),
    };
    proceed(&flow, &user, now).await
}
