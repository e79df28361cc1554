//! The frozen layout identity providers replaced: [`Tenant`] version 7 (before its external
//! OpenID providers). Read-only, like every layout in `legacy`: never written again, and pinned
//! by golden bytes. Its settings are laid out as version 6's ([`TenantSettingsV6`]).

use tessera_core::model::{Api, IdentityValidator, Tenant, TrustedIssuer, UnixSecs};

use super::legacy_issuers::{TenantSettingsV6, TenantV6};

/// [`Tenant`] as format version 7 laid it out.
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

impl From<TenantV6> for TenantV7 {
    /// A tenant stored before trusted issuers trusts none.
    fn from(v6: TenantV6) -> Self {
        Self {
            id: v6.id,
            display_name: v6.display_name,
            settings: v6.settings,
            created_at: v6.created_at,
            apis: v6.apis,
            identity_validators: v6.identity_validators,
            trusted_issuers: Vec::new(),
        }
    }
}

impl From<TenantV7> for Tenant {
    /// A tenant stored before identity providers has none: its users sign in locally.
    fn from(v7: TenantV7) -> Self {
        let issuers = v7.trusted_issuers;
        let v6 = TenantV6 {
            id: v7.id,
            display_name: v7.display_name,
            settings: v7.settings,
            created_at: v7.created_at,
            apis: v7.apis,
            identity_validators: v7.identity_validators,
        };
        let mut tenant = Tenant::from(v6);
        tenant.trusted_issuers = issuers;
        tenant
    }
}
