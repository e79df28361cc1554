//! The frozen layout the direct authorisation API replaced: [`OpaqueToken`] version 3 (before
//! its audience of resource-server client ids, its impersonator and its data). The tenant it
//! changed (version 8, before its bearer token digest and encryption key) is frozen in
//! `legacy_idps`.
//! Read-only, like every layout in `legacy`: never written again, and pinned by golden bytes.

use tessera_core::model::{OpaqueToken, UnixSecs};

/// [`OpaqueToken`] as format version 3 laid it out.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct OpaqueTokenV3 {
    pub(super) tenant: String,
    pub(super) client_id: String,
    pub(super) sub: String,
    pub(super) scope: String,
    pub(super) jti: String,
    pub(super) iat: UnixSecs,
    pub(super) exp: UnixSecs,
    pub(super) roles: Vec<String>,
    pub(super) permissions: Vec<String>,
    pub(super) aud: Option<String>,
    pub(super) extra_info: Option<String>,
    pub(super) validator: Option<String>,
}

impl From<OpaqueTokenV3> for OpaqueToken {
    /// A token issued before the direct authorisation API is shown to any client, names no
    /// impersonator and carries no data.
    fn from(v3: OpaqueTokenV3) -> Self {
        OpaqueToken {
            tenant: v3.tenant,
            client_id: v3.client_id,
            sub: v3.sub,
            scope: v3.scope,
            jti: v3.jti,
            iat: v3.iat,
            exp: v3.exp,
            roles: v3.roles,
            permissions: v3.permissions,
            aud: v3.aud,
            extra_info: v3.extra_info,
            validator: v3.validator,
            audience: Vec::new(),
            act: None,
            dat: None,
            cls: Vec::new(),
            uip: None,
        }
    }
}
