//! The operator's view of one SSO session (API.md): `POST .../tokens/session {"sub_sid"}`
//! reads the session a session cookie value names (the direct authorisation API's `sub_sid` is
//! one): who, since when and how, until when, and the data a broker kept with it
//! (`sub_session.data`). The value is a credential, so it travels in the body, never in a URL,
//! and is looked up by its digest as every session is. An unknown, expired or malformed value,
//! or another tenant's, is `{"active": false}`, as the other token tools answer.

use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use tessera_core::model::{Session, UnixSecs};
use tessera_core::secret;
use utoipa::ToSchema;

use super::refusals::{Denied, Invalid, NotFound};
use super::{json_body, tenant_or_404};
use crate::app::App;
use crate::http::respond::{ApiError, Resp, json_no_store};
use crate::util::now;

/// Longest value taken, in bytes: the longest `sub_sid` the direct authorisation API takes;
/// a session cookie value is 43.
const MAX_SUB_SID_BYTES: usize = tessera_core::direct_authz::request::MAX_NAME_BYTES;

/// The body of `POST .../tokens/session`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionBody {
    /// The session's cookie value (the direct authorisation API's `sub_sid`): 1 to 255 bytes.
    sub_sid: String,
}

/// What a session is, when it is live.
#[derive(Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct SessionView {
    /// Whether the value names a live session of this tenant; nothing else is said when not.
    active: bool,
    /// Its subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    /// Its public id, the `sid` of the ID tokens issued in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    /// When the subject authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<UnixSecs>,
    /// The authentication context class reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<String>,
    /// The authentication methods used.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    amr: Vec<String>,
    /// When the session began.
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<UnixSecs>,
    /// When it ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<UnixSecs>,
    /// The data the broker that made it kept with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    data: Option<serde_json::Value>,
}

impl SessionView {
    fn of(session: Session) -> Self {
        Self {
            active: true,
            sub: Some(session.auth.sub),
            sid: Some(session.auth.sid),
            auth_time: Some(session.auth.auth_time),
            acr: session.auth.acr,
            amr: session.auth.amr,
            created_at: Some(session.created_at),
            expires_at: Some(session.expires_at),
            // Written as a JSON object by the direct authorisation API; anything else is none.
            data: session.data.and_then(|text| serde_json::from_str(&text).ok()),
        }
    }
}

/// The body's value, checked.
pub fn session_body(headers: &HeaderMap, body: &[u8]) -> Result<String, ApiError> {
    let SessionBody { sub_sid } = json_body(headers, body)?;
    if sub_sid.is_empty() || sub_sid.len() > MAX_SUB_SID_BYTES {
        return Err(ApiError::BadRequest(format!("sub_sid must be 1 to {MAX_SUB_SID_BYTES} bytes")));
    }
    Ok(sub_sid)
}

/// What the session `sub_sid` names in the tenant is.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/tokens/session", tag = "tokens",
    operation_id = "read_session",
    request_body = SessionBody,
    responses((status = 200, description = "The session, or `{\"active\": false}`", body = SessionView),
        Invalid, NotFound, Denied))]
pub async fn read(app: &App, tenant: &str, sub_sid: &str) -> Result<Resp, ApiError> {
    let tenant = tenant_or_404(app, tenant).await?;
    let now = now();
    let found = app.store.session(&tenant.id, &secret::digest(sub_sid), now).await?;
    let view = match found.filter(|s| s.tenant == tenant.id && s.expires_at > now) {
        Some(session) => SessionView::of(session),
        None => SessionView::default(),
    };
    Ok(json_no_store(StatusCode::OK, &view))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::model::Authentication;

    #[test]
    fn a_live_session_shows_its_login_and_data_and_anything_else_only_that_it_is_not() {
        let session = Session {
            tenant: "acme".into(),
            auth: Authentication {
                sub: "alice".into(),
                sid: "sid-1".into(),
                auth_time: 5,
                acr: None,
                amr: vec!["fed".into()],
            },
            created_at: 6,
            expires_at: 7,
            data: Some(r#"{"k":[1]}"#.into()),
        };
        let view = serde_json::to_value(SessionView::of(session)).expect("json");
        assert_eq!(
            view,
            serde_json::json!({ "active": true, "sub": "alice", "sid": "sid-1", "auth_time": 5,
                "amr": ["fed"], "created_at": 6, "expires_at": 7, "data": {"k": [1]} })
        );
        let none = serde_json::to_value(SessionView::default()).expect("json");
        assert_eq!(none, serde_json::json!({ "active": false }));
    }
}
