//! The client credentials grant (RFC 6749 4.4): no records to fetch; the client asks for a
//! token for itself.

use tessera_core::error::OAuthError;
use tessera_core::grants::client_credentials::{self, Request};
use tessera_core::grants::plan::IssuePlan;
use tessera_core::model::Client;

/// The plan for a client credentials request.
pub fn plan(client: &Client, req: Request<'_>) -> Result<IssuePlan, OAuthError> {
    client_credentials::plan(req, client, super::fresh_jti()?)
}
