//! The operator's view of long-lived grants (API.md): `GET .../tokens/grants?sub=` lists the
//! live refresh-token families of one subject, and `DELETE .../tokens/grants/{id}` revokes one.
//! A grant here is a refresh-token family: the chain of rotations that began with one
//! authorisation (a code exchange, a password grant, a long-lived direct authorisation), so
//! revoking it stops every refresh token of the chain at once, as a detected reuse does
//! (OAuth 2.0 Security BCP 4.14.2). Access tokens already issued from it run out on their own.
//!
//! Subjects are listed by `sub`, not by local user: a direct authorisation issues refresh
//! tokens to subjects the broker vouches for, which no user record names. The store reads the
//! subject's own families (`RefreshStore::families_of_subject`), never the whole tenant's.
//!
//! Same permission as the other token tools (`admin:tokens:write`): a grant's id is the handle
//! that revokes it, and a listing tells who holds sessions with which clients.

use http::StatusCode;
use serde::Serialize;
use tessera_core::form::Form;
use tessera_core::model::{UnixSecs, is_valid_id};
use tessera_core::rules::refresh::StoredFamily;
use utoipa::ToSchema;

use super::refusals::{Conflict, Denied, NotFound};
use super::tenant_or_404;
use crate::app::App;
use crate::http::respond::{ApiError, ErrorBody, Resp, empty, json_no_store};
use crate::util::now;

/// Longest `sub` taken, in bytes: the longest subject the direct authorisation API accepts
/// (`tessera_core::direct_authz::request`), so every subject a grant can be issued to can be
/// asked for.
const MAX_SUB_BYTES: usize = tessera_core::direct_authz::request::MAX_NAME_BYTES;

/// The query parameters `GET .../tokens/grants` takes.
const LIST_PARAMS: [&str; 1] = ["sub"];

/// One long-lived grant: a live refresh-token family.
#[derive(Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct GrantView {
    /// The family id: what `DELETE .../tokens/grants/{id}` takes.
    id: String,
    /// The client its refresh tokens are issued to.
    client_id: String,
    /// The subject it was granted for.
    sub: String,
    /// When its longest-lived refresh token expires (seconds since the epoch), unless
    /// rotations extend it.
    expires_at: UnixSecs,
}

impl GrantView {
    /// The view of a live family; `None` for a tombstone, which the store never lists as live
    /// (a tombstone is revoked) and which names no client or subject to show.
    fn of(family: StoredFamily) -> Option<Self> {
        Some(Self {
            client_id: family.client_id?,
            sub: family.sub?,
            id: family.family,
            expires_at: family.expires_at,
        })
    }
}

/// The answer of the listing.
#[derive(Serialize, ToSchema)]
pub struct GrantList {
    /// The subject's live grants, in id order.
    grants: Vec<GrantView>,
}

/// The `sub` of the listing's query string: present, 1 to 255 bytes, no control character (the
/// rule of the direct authorisation API's subjects), else 400. Unknown parameters are refused
/// rather than ignored, so a misspelt `sub` cannot be taken for another question.
fn sub_query(query: Option<&str>) -> Result<String, ApiError> {
    let form = Form::parse(query.unwrap_or_default().as_bytes())
        .map_err(|e| ApiError::BadRequest(format!("invalid query string: {}", e.description)))?;
    if let Some((name, _)) = form.pairs().find(|(name, _)| !LIST_PARAMS.contains(name)) {
        return Err(ApiError::BadRequest(format!("unknown query parameter `{name}`")));
    }
    // An empty value reads as absent (`Form`): both are "sub is required".
    let sub = form.get("sub").ok_or_else(|| ApiError::BadRequest("sub is required".into()))?;
    if sub.len() > MAX_SUB_BYTES || sub.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "sub must be 1 to {MAX_SUB_BYTES} bytes without control characters"
        )));
    }
    Ok(sub.to_owned())
}

/// Lists the live long-lived grants (refresh-token families) of subject `sub`, local user or
/// not, in id order: `{"grants": [...]}`. A subject without any has an empty list.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/tokens/grants", tag = "tokens",
    operation_id = "list_grants",
    params(("sub" = String, Query, description = "The subject whose grants to list: 1 to 255 bytes, no control characters")),
    responses((status = 200, description = "The subject's live grants, in id order", body = GrantList),
        (status = 400, description = "`sub` is missing or invalid, or a query parameter is unknown or repeated", body = ErrorBody),
        NotFound, Denied))]
pub async fn list(app: &App, tenant: &str, query: Option<&str>) -> Result<Resp, ApiError> {
    let sub = sub_query(query)?;
    let tenant = tenant_or_404(app, tenant).await?;
    let families = app.store.families_of_subject(&tenant.id, &sub, now()).await?;
    let grants = families.into_iter().filter_map(GrantView::of).collect();
    Ok(json_no_store(StatusCode::OK, &GrantList { grants }))
}

/// Revokes grant `id`: no refresh token of the family works again. 204 whether it was live,
/// already revoked or unknown, as `tokens/revoke` answers: the store revokes by id without
/// reading the family first, and an unknown id only leaves a tombstone that refuses a family
/// of that id until the tenant's refresh-token lifetime has passed. An id no grant can have
/// is 404, as the admin API answers for any such id in a path.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/tokens/grants/{grant}", tag = "tokens",
    operation_id = "revoke_grant",
    responses((status = 204, description = "Revoked, or nothing to revoke"), NotFound, Conflict, Denied))]
pub async fn revoke(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    let tenant = tenant_or_404(app, tenant).await?;
    if !is_valid_id(id) {
        return Err(ApiError::NotFound("grant"));
    }
    // A family's own record outlives its tokens; `until` only bounds the tombstone that stands
    // in for a family not stored (or not decodable), which no token of it can outlive.
    let until = now() + i64::from(tenant.settings.refresh_token_ttl_secs);
    app.store.revoke_refresh_family(&tenant.id, id, until).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(query: Option<&str>) -> Result<String, StatusCode> {
        sub_query(query).map_err(|e| e.into_response().status())
    }

    #[test]
    fn the_query_names_one_valid_sub() {
        assert_eq!(status(Some("sub=alice")), Ok("alice".into()));
        assert_eq!(status(Some("sub=broker%7Ccustomer%407")), Ok("broker|customer@7".into()));
        assert_eq!(
            status(Some(&format!("sub={}", "a".repeat(MAX_SUB_BYTES)))),
            Ok("a".repeat(MAX_SUB_BYTES))
        );
        let long = format!("sub={}", "a".repeat(MAX_SUB_BYTES + 1));
        for bad in [
            None,
            Some(""),
            Some("sub="),
            Some("sub=%0A"),
            Some("sub=a%00b"),
            Some("sub=a&sub=b"),
            Some("subject=a"),
            Some("sub=a&limit=5"),
            Some(long.as_str()),
        ] {
            assert_eq!(status(bad), Err(StatusCode::BAD_REQUEST), "{bad:?}");
        }
    }

    #[test]
    fn a_tombstone_has_no_view() {
        let family = StoredFamily {
            tenant: "acme".into(),
            family: "fam1".into(),
            client_id: None,
            sub: None,
            revoked_at: Some(1),
            expires_at: 2,
        };
        assert_eq!(GrantView::of(family.clone()), None);
        let live = StoredFamily {
            client_id: Some("web".into()),
            sub: Some("u1".into()),
            revoked_at: None,
            ..family
        };
        let view = GrantView { id: "fam1".into(), client_id: "web".into(), sub: "u1".into(), expires_at: 2 };
        assert_eq!(GrantView::of(live), Some(view));
    }
}
