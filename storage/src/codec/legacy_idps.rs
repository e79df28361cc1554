//! The frozen layouts of [`Tenant`] versions 7 (before its external OpenID providers) and 8
//! (with them, before the direct authorisation API's credentials). Read-only, like every layout
//! in `legacy`: never written again, and pinned by golden bytes. Their settings are laid out as
//! version 6's ([`TenantSettingsV6`]).

use tessera_core::model::{Api, IdentityValidator, Idp, Tenant, TrustedIssuer, UnixSecs};

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

impl From<TenantV7> for TenantV8 {
    /// A tenant stored before identity providers has none: its users sign in locally.
    fn from(v7: TenantV7) -> Self {
        Self {
            id: v7.id,
            display_name: v7.display_name,
            settings: v7.settings,
            created_at: v7.created_at,
            apis: v7.apis,
            identity_validators: v7.identity_validators,
            trusted_issuers: v7.trusted_issuers,
            idps: Vec::new(),
        }
    }
}

/// [`Tenant`] as format version 8 laid it out (with its identity providers, before the direct
/// authorisation API's credentials).
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantV8 {
    pub(super) id: String,
    pub(super) display_name: String,
    pub(super) settings: TenantSettingsV6,
    pub(super) created_at: UnixSecs,
    pub(super) apis: Vec<Api>,
    pub(super) identity_validators: Vec<IdentityValidator>,
    pub(super) trusted_issuers: Vec<TrustedIssuer>,
    pub(super) idps: Vec<Idp>,
}

impl From<TenantV8> for Tenant {
    /// A tenant stored before the direct authorisation API has no bearer token for it (every
    /// call is refused until the operator issues one) and no encryption key.
    fn from(v8: TenantV8) -> Self {
        let v6 = TenantV6 {
            id: v8.id,
            display_name: v8.display_name,
            settings: v8.settings,
            created_at: v8.created_at,
            apis: v8.apis,
            identity_validators: v8.identity_validators,
        };
        let mut tenant = Tenant::from(v6);
        tenant.trusted_issuers = v8.trusted_issuers;
        tenant.idps = v8.idps;
        tenant
    }
}
