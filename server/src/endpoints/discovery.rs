//! `GET /t/{tenant}/.well-known/openid-configuration` (and the RFC 8414 name).

use crate::app::{App, TenantCx};
use crate::http::respond::{Resp, json_public};

/// How long clients may cache the document.
const MAX_AGE_SECS: u32 = 300;

/// Handles a discovery request.
pub fn handle(app: &App, cx: &TenantCx) -> Resp {
    json_public(app.discovery(&cx.tenant.id), MAX_AGE_SECS)
}
