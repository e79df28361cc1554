//! The frozen layout trusted issuers replaced: [`Tenant`] version 6 (before its trusted
//! issuers). Read-only, like every layout in `legacy`: never written again, and pinned by
//! golden bytes.

use tessera_core::model::{
    Api, IdentityValidator, RateLimit, ScopePermission, SigningAlg, Tenant, TenantSettings, UnixSecs,
};

/// [`Tenant`] as format version 6 laid it out.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantV6 {
    pub(super) id: String,
    pub(super) display_name: String,
    pub(super) settings: TenantSettingsV6,
    pub(super) created_at: UnixSecs,
    pub(super) apis: Vec<Api>,
    pub(super) identity_validators: Vec<IdentityValidator>,
}

/// [`TenantSettings`] as format version 6 of [`Tenant`] laid it out.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantSettingsV6 {
    pub(super) access_token_alg: SigningAlg,
    pub(super) scope_permissions: Vec<ScopePermission>,
    pub(super) access_token_ttl_secs: u32,
    pub(super) id_token_ttl_secs: u32,
    pub(super) refresh_token_ttl_secs: u32,
    pub(super) code_ttl_secs: u32,
    pub(super) audit_retention_days: u32,
    pub(super) session_ttl_secs: Option<u32>,
    pub(super) refresh_reuse_grace_secs: Option<u32>,
    pub(super) password_min_length: u32,
    pub(super) password_reject_common: bool,
    pub(super) self_service_registration: bool,
    pub(super) local_directory_position: Option<u32>,
    pub(super) token_rate_limit: Option<RateLimit>,
}

impl From<TenantV6> for Tenant {
    /// A tenant stored before trusted issuers trusts none: the JWT bearer grant refuses every
    /// assertion there.
    fn from(v6: TenantV6) -> Self {
        let s = v6.settings;
        let settings = TenantSettings {
            access_token_alg: s.access_token_alg,
            scope_permissions: s.scope_permissions,
            access_token_ttl_secs: s.access_token_ttl_secs,
            id_token_ttl_secs: s.id_token_ttl_secs,
            refresh_token_ttl_secs: s.refresh_token_ttl_secs,
            code_ttl_secs: s.code_ttl_secs,
            audit_retention_days: s.audit_retention_days,
            session_ttl_secs: s.session_ttl_secs,
            refresh_reuse_grace_secs: s.refresh_reuse_grace_secs,
            password_min_length: s.password_min_length,
            password_reject_common: s.password_reject_common,
            self_service_registration: s.self_service_registration,
            local_directory_position: s.local_directory_position,
            token_rate_limit: s.token_rate_limit,
        };
        let mut tenant = Tenant::new(v6.id, v6.display_name, settings, v6.created_at);
        tenant.apis = v6.apis;
        tenant.identity_validators = v6.identity_validators;
        tenant
    }
}
