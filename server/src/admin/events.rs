//! `GET /api/v1/tenants/{t}/events`: a tenant's audit events a page at a time, newest first,
//! filtered by type, actor and time range (`tessera_core::audit::EventQuery`, parsed once; a
//! bad parameter is a 400 before anything is read). The answer is
//! `{"events": [...], "next": cursor or null}`; a page may hold fewer events than `limit`, even
//! none, and still have a `next` when the scan bound stopped it (see `tessera_core::audit`).

use http::StatusCode;
use serde::Serialize;
use tessera_core::audit::EventQuery;
use tessera_core::model::AuditEvent;
use utoipa::ToSchema;

use super::refusals::{Denied, NotFound};
use super::tenant_or_404;
use crate::app::App;
use crate::http::respond::{ApiError, ErrorBody, Resp, json_no_store};

/// A page of events.
#[derive(Serialize, ToSchema)]
pub struct EventPage {
    /// The events, newest first.
    events: Vec<AuditEvent>,
    /// The cursor of the next page; `null` on the last.
    next: Option<String>,
}

/// Lists a page of a tenant's events.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/events", tag = "events", operation_id = "list_events",
    params(
        ("type" = Option<String>, Query, description = "Only events of this type: admin.change, login.success, login.failure, token.failure, token.revoked, role.change, api_key.admin_use"),
        ("actor" = Option<String>, Query, description = "Only events of this actor: a kind (admin_key, token, api_key, end_user, client, anonymous), optionally `kind:id`"),
        ("since" = Option<i64>, Query, description = "Only events at or after this Unix second"),
        ("until" = Option<i64>, Query, description = "Only events before this Unix second"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 200 (50 by default)"),
        ("cursor" = Option<String>, Query, description = "The `next` of the previous page"),
    ),
    responses((status = 200, description = "A page of events, newest first", body = EventPage),
        (status = 400, description = "A filter, limit or cursor is invalid", body = ErrorBody), NotFound, Denied))]
pub async fn list(app: &App, tenant: &str, query: Option<&str>) -> Result<Resp, ApiError> {
    let query = EventQuery::parse(query)?;
    tenant_or_404(app, tenant).await?;
    let page = app.store.list_events(tenant, &query).await?;
    let next = page.next_cursor();
    Ok(json_no_store(StatusCode::OK, &EventPage { events: page.events, next }))
}
