//! `GET /api/v1/tenants/{t}/events`: a tenant's audit events a page at a time, newest first,
//! filtered by type, actor and time range (`tessera_core::audit::EventQuery`, parsed once; a
//! bad parameter is a 400 before anything is read). The answer is
//! `{"events": [...], "next": cursor or null}`; a page may hold fewer events than `limit`, even
//! none, and still have a `next` when the scan bound stopped it (see `tessera_core::audit`).

use http::StatusCode;
use tessera_core::audit::EventQuery;

use super::tenant_or_404;
use crate::app::App;
use crate::http::respond::{ApiError, Resp, json_no_store};

/// Lists a page of a tenant's events.
pub async fn list(app: &App, tenant: &str, query: Option<&str>) -> Result<Resp, ApiError> {
    let query = EventQuery::parse(query)?;
    tenant_or_404(app, tenant).await?;
    let page = app.store.list_events(tenant, &query).await?;
    Ok(json_no_store(
        StatusCode::OK,
        &serde_json::json!({ "events": page.events, "next": page.next_cursor() }),
    ))
}
