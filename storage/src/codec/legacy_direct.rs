//! The frozen layouts the direct authorisation API replaced: [`Tenant`] version 7 (before its
//! direct-authorisation bearer token digest and encryption key) and [`OpaqueToken`] version 3
//! (before its audience of resource-server client ids, its impersonator and its data).
//! Read-only, like every layout in `legacy`: never written again, and pinned by golden bytes.

use tessera_core::model::{Api, IdentityValidator, OpaqueToken, Tenant, TrustedIssuer, UnixSecs};

use super::legacy_issuers::TenantSettingsV6;

/// [`Tenant`] as format version 7 laid it out; its settings kept the version-6 layout.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantV7 {
    pub(super) id: String,
    pub(super) display_name: String,
    pub(super) settings: TenantSettingsV6,
    pub(super) created_at: UnixSecs,
    pub(super) apis: Vec<Api>,
    pub(super) identity_validators: Vec<IdentityValidator>,
    pub(super) trusted_issuers: Vec<TrustedIssuer>,
}

impl From<TenantV7> for Tenant {
    /// A tenant stored before the direct authorisation API has no bearer token for it (every
    /// call is refused until the operator issues one) and no encryption key.
    fn from(v7: TenantV7) -> Self {
        let v6 = super::legacy_issuers::TenantV6 {
            id: v7.id,
            display_name: v7.display_name,
            settings: v7.settings,
            created_at: v7.created_at,
            apis: v7.apis,
            identity_validators: v7.identity_validators,
        };
        let mut tenant = Tenant::from(v6);
        tenant.trusted_issuers = v7.trusted_issuers;
        tenant
    }
}

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
        }
    }
}
