//! Tenants: one issuer each, with the lifetimes and algorithms of what it issues, its password
//! policy, the scopes that need a permission, its clients' default token-endpoint quota, and the bounds those settings must keep.

use serde::{Deserialize, Serialize};

use super::role::validate_scope_permissions;
use super::{Api, IdentityValidator, Idp, RateLimit, ScopePermission, SigningAlg, TrustedIssuer, UnixSecs};
use crate::password_policy::{MAX_MIN_PASSWORD_CHARS, MIN_PASSWORD_CHARS, PasswordPolicy};

rkyv_record! {
    /// Per-tenant policy: token lifetimes and algorithms, passwords, registration.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct TenantSettings {
        /// Algorithm of JWT access tokens.
        pub access_token_alg: SigningAlg,
        /// Scopes that only a subject holding a permission may be granted
        /// (`crate::rbac::check_scope`); none by default.
        pub scope_permissions: Vec<ScopePermission>,
        /// Lifetime of access tokens.
        pub access_token_ttl_secs: u32,
        /// Lifetime of ID tokens.
        pub id_token_ttl_secs: u32,
        /// Lifetime of refresh tokens.
        pub refresh_token_ttl_secs: u32,
        /// Lifetime of authorization codes.
        pub code_ttl_secs: u32,
        /// How long the tenant's audit events are kept, in days:
        /// [`MIN_AUDIT_RETENTION_DAYS`] to [`MAX_AUDIT_RETENTION_DAYS`]. Applies to the events
        /// already stored as well: the store's sweeper removes every event older than this,
        /// as the setting reads when it sweeps.
        pub audit_retention_days: u32,
        /// Lifetime of an SSO session (and of its cookie); `None` takes the server's
        /// `--session-ttl-secs`.
        pub session_ttl_secs: Option<u32>,
        /// How long after a refresh token is rotated a retry with it still succeeds instead of
        /// counting as reuse; `None` takes the server's `--refresh-reuse-grace-secs`.
        pub refresh_reuse_grace_secs: Option<u32>,
        /// Shortest password accepted when one is set, in characters:
        /// [`MIN_PASSWORD_CHARS`] to [`MAX_MIN_PASSWORD_CHARS`]. Existing passwords are not
        /// rechecked: a user with a shorter one still signs in.
        pub password_min_length: u32,
        /// Whether a password on the shipped common-password list is refused when one is set
        /// (`crate::password_policy`).
        pub password_reject_common: bool,
        /// Whether end users may register themselves. Stored and shown only, for now:
        /// registration arrives with a later issue.
        pub self_service_registration: bool,
        /// Where the local user directory stands in the chain of identity validators the
        /// password grant asks (newest validator first): 0 asks it before every validator,
        /// `n` after the `n` newest; `None` (the default) asks it last.
        pub local_directory_position: Option<u32>,
        /// The token-endpoint quota of each client that has none of its own
        /// (`crate::model::rate_limit`); `None`: unlimited.
        pub token_rate_limit: Option<RateLimit>,
    }

    /// A tenant: one issuer with its own clients, keys and tokens.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Tenant {
        /// The tenant id, the path segment in `/t/{tenant}`.
        pub id: String,
        /// A human-readable name.
        pub display_name: String,
        /// Lifetimes and algorithms.
        pub settings: TenantSettings,
        /// When the tenant was created.
        pub created_at: UnixSecs,
        /// Its APIs (resource servers), in creation order.
        pub apis: Vec<Api>,
        /// Its identity validators, in creation order.
        pub identity_validators: Vec<IdentityValidator>,
        /// The partners whose assertions the JWT bearer grant accepts, in creation order.
        pub trusted_issuers: Vec<TrustedIssuer>,
        /// The external OpenID providers its users may sign in with, in creation order.
        pub idps: Vec<Idp>,
        /// The SHA-256 digest of the bearer token of its direct authorisation API
        /// (`crate::direct_authz`); `None` until one is issued, and every call is refused.
        pub direct_authz_token_digest: Option<[u8; 32]>,
        /// The shared AES-256 key the direct authorisation API encrypts self-contained access
        /// tokens with when asked (JWE); written by the operator, never shown.
        pub direct_authz_encryption: Option<SharedAesKey>,
    }

    /// The JWE key management of a tenant's encrypted access tokens; the content is always
    /// encrypted with `A256GCM`.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub enum JweKeyManagement {
        /// The shared key is the content-encryption key (RFC 7518 4.5).
        #[default]
        #[serde(rename = "dir")]
        Dir,
        /// A fresh content-encryption key per token, wrapped with the shared key by AES-GCM
        /// (RFC 7518 4.7).
        #[serde(rename = "A256GCMKW")]
        A256GcmKw,
    }

    /// A tenant's shared AES-256 key for encrypted access tokens.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct SharedAesKey {
        /// How tokens are encrypted with it.
        pub alg: JweKeyManagement,
        /// The key: sealed by the server ([`SharedAesKey::SEALED_LEN`] bytes, bound to the
        /// tenant, under a key the store does not hold) when `sealed`; the 32 key bytes as
        /// they are otherwise (a key stored before keys were sealed, tenant format 9).
        pub key: Vec<u8>,
        /// Whether `key` is sealed.
        pub sealed: bool,
    }
}

impl SharedAesKey {
    /// Bytes of the key itself.
    pub const KEY_LEN: usize = 32;
    /// Bytes of a sealed key: a 96-bit nonce, the key, a 128-bit tag.
    pub const SEALED_LEN: usize = 12 + Self::KEY_LEN + 16;

    /// Whether `key` has the length its form gives it.
    pub fn is_well_formed(&self) -> bool {
        self.key.len() == if self.sealed { Self::SEALED_LEN } else { Self::KEY_LEN }
    }
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            access_token_alg: SigningAlg::ES384,
            scope_permissions: Vec::new(),
            access_token_ttl_secs: 3600,
            id_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 14 * 24 * 3600,
            code_ttl_secs: 60,
            session_ttl_secs: None,
            refresh_reuse_grace_secs: None,
            password_min_length: MIN_PASSWORD_CHARS,
            password_reject_common: true,
            self_service_registration: false,
            audit_retention_days: DEFAULT_AUDIT_RETENTION_DAYS,
            local_directory_position: None,
            token_rate_limit: None,
        }
    }
}

/// Audit retention of a tenant that sets none (and of tenants stored before the setting).
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 90;
/// Shortest audit retention a tenant may set: a day, so an investigation the morning after
/// still finds the events.
pub const MIN_AUDIT_RETENTION_DAYS: u32 = 1;
/// Longest audit retention a tenant may set (ten years): keeps the time arithmetic far from
/// any overflow and the store from holding events forever by a typo.
pub const MAX_AUDIT_RETENTION_DAYS: u32 = 3650;

/// Longest token lifetime a setting may hold (one year): bounds how long retired keys stay.
pub const MAX_TTL_SECS: u32 = 365 * 24 * 3600;

/// Shortest SSO session a tenant may set: shorter would expire between the login page and
/// the consent page.
pub const MIN_SESSION_TTL_SECS: u32 = 60;

/// Longest refresh-token reuse grace a tenant may set: the grace is for a client retrying a
/// lost answer, not for sharing a token.
pub const MAX_REFRESH_REUSE_GRACE_SECS: u32 = 300;

impl Tenant {
    /// A new tenant without APIs, identity validators, trusted issuers or identity providers.
    pub fn new(id: String, display_name: String, settings: TenantSettings, created_at: UnixSecs) -> Self {
        Self {
            id,
            display_name,
            settings,
            created_at,
            apis: Vec::new(),
            identity_validators: Vec::new(),
            trusted_issuers: Vec::new(),
            idps: Vec::new(),
            direct_authz_token_digest: None,
            direct_authz_encryption: None,
        }
    }

    /// Checks the tenant's APIs, identity validators, trusted issuers and identity providers as stored: within
    /// their bounds, identifiers unique, every field well formed.
    pub fn validate_resources(&self) -> Result<(), String> {
        super::api::validate_resources(&self.apis, &self.identity_validators)?;
        super::validate_trusted_issuers(&self.trusted_issuers)?;
        super::validate_idps(&self.idps)
    }

    /// The identity provider with this id.
    pub fn idp(&self, id: &str) -> Option<&Idp> {
        self.idps.iter().find(|i| i.id == id)
    }

    /// The trusted issuer whose assertions carry `iss`.
    pub fn trusted_issuer(&self, iss: &str) -> Option<&TrustedIssuer> {
        self.trusted_issuers.iter().find(|t| t.issuer == iss)
    }

    /// The ids of the APIs named (by id or identifier) in `names`, each once, in the order
    /// named; an error names the first that is no API of this tenant.
    pub fn api_ids(&self, names: &[String]) -> Result<Vec<String>, String> {
        let mut ids: Vec<String> = Vec::with_capacity(names.len());
        for name in names {
            let api = self.api(name).ok_or_else(|| format!("no API `{name}` in this tenant"))?;
            if !ids.contains(&api.id) {
                ids.push(api.id.clone());
            }
        }
        Ok(ids)
    }

    /// The API with this id or identifier.
    pub fn api(&self, id_or_identifier: &str) -> Option<&Api> {
        self.apis.iter().find(|a| a.id == id_or_identifier || a.identifier == id_or_identifier)
    }
}

impl TenantSettings {
    /// Checks that every token lifetime is positive and at most [`MAX_TTL_SECS`], a session
    /// lifetime (when set) [`MIN_SESSION_TTL_SECS`] to [`MAX_TTL_SECS`], and a refresh reuse
    /// grace (when set) at most [`MAX_REFRESH_REUSE_GRACE_SECS`], and a password minimum of
    /// [`MIN_PASSWORD_CHARS`] to [`MAX_MIN_PASSWORD_CHARS`], and an audit retention of
    /// [`MIN_AUDIT_RETENTION_DAYS`] to [`MAX_AUDIT_RETENTION_DAYS`].
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("access_token_ttl_secs", self.access_token_ttl_secs),
            ("id_token_ttl_secs", self.id_token_ttl_secs),
            ("refresh_token_ttl_secs", self.refresh_token_ttl_secs),
            ("code_ttl_secs", self.code_ttl_secs),
        ] {
            if v == 0 || v > MAX_TTL_SECS {
                return Err(format!("{name} must be between 1 and {MAX_TTL_SECS}"));
            }
        }
        if let Some(ttl) = self.session_ttl_secs
            && !(MIN_SESSION_TTL_SECS..=MAX_TTL_SECS).contains(&ttl)
        {
            return Err(format!(
                "session_ttl_secs must be between {MIN_SESSION_TTL_SECS} and {MAX_TTL_SECS}"
            ));
        }
        if let Some(grace) = self.refresh_reuse_grace_secs
            && grace > MAX_REFRESH_REUSE_GRACE_SECS
        {
            return Err(format!(
                "refresh_reuse_grace_secs must be between 0 and {MAX_REFRESH_REUSE_GRACE_SECS}"
            ));
        }
        if !(MIN_PASSWORD_CHARS..=MAX_MIN_PASSWORD_CHARS).contains(&self.password_min_length) {
            return Err(format!(
                "password_min_length must be between {MIN_PASSWORD_CHARS} and {MAX_MIN_PASSWORD_CHARS}"
            ));
        }
        validate_scope_permissions(&self.scope_permissions)?;
        if let Some(limit) = &self.token_rate_limit {
            limit.validate("token_rate_limit")?;
        }
        if !(MIN_AUDIT_RETENTION_DAYS..=MAX_AUDIT_RETENTION_DAYS).contains(&self.audit_retention_days) {
            return Err(format!(
                "audit_retention_days must be between {MIN_AUDIT_RETENTION_DAYS} and {MAX_AUDIT_RETENTION_DAYS}"
            ));
        }
        Ok(())
    }

    /// The oldest moment whose audit events are still kept at `now`: events before it are
    /// due for removal.
    pub fn audit_kept_from(&self, now: UnixSecs) -> UnixSecs {
        now.saturating_sub(i64::from(self.audit_retention_days) * 24 * 3600)
    }

    /// What this tenant asks of a new password.
    pub fn password_policy(&self) -> PasswordPolicy {
        PasswordPolicy { min_chars: self.password_min_length, reject_common: self.password_reject_common }
    }

    /// The longest lifetime of any token signed with a tenant key.
    pub fn max_signed_token_ttl_secs(&self) -> u32 {
        self.access_token_ttl_secs.max(self.id_token_ttl_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_rate_limit_must_be_positive_and_bounded() {
        let with = |per_second, burst| TenantSettings {
            token_rate_limit: Some(RateLimit { per_second, burst }),
            ..TenantSettings::default()
        };
        assert!(TenantSettings::default().validate().is_ok(), "unlimited by default");
        assert!(with(100, 200).validate().is_ok());
        let zero = with(0, 1).validate().expect_err("a zero rate");
        assert!(zero.contains("token_rate_limit.per_second"), "{zero}");
        assert!(with(1, 0).validate().is_err(), "a zero burst");
        assert!(with(u32::MAX, 1).validate().is_err(), "an absurd rate");
    }

    #[test]
    fn settings_reject_zero_and_huge_lifetimes() {
        let mut s = TenantSettings::default();
        assert!(s.validate().is_ok());
        s.code_ttl_secs = 0;
        assert!(s.validate().is_err());
        s.code_ttl_secs = MAX_TTL_SECS + 1;
        assert!(s.validate().is_err());
    }

    #[test]
    fn settings_bound_the_session_ttl_and_the_refresh_grace() {
        let ok = |session_ttl_secs, refresh_reuse_grace_secs| {
            TenantSettings { session_ttl_secs, refresh_reuse_grace_secs, ..TenantSettings::default() }
                .validate()
                .is_ok()
        };
        assert!(ok(None, None), "unset: the server's flags apply");
        for ttl in [60, 3600, 31_536_000] {
            assert!(ok(Some(ttl), None), "{ttl}");
        }
        for ttl in [0, 1, 59, 31_536_001, u32::MAX] {
            assert!(!ok(Some(ttl), None), "{ttl}");
        }
        for grace in [0, 10, 300] {
            assert!(ok(None, Some(grace)), "{grace}");
        }
        for grace in [301, u32::MAX] {
            assert!(!ok(None, Some(grace)), "{grace}");
        }
    }

    #[test]
    fn settings_bound_the_password_minimum() {
        let ok = |password_min_length| {
            TenantSettings { password_min_length, ..TenantSettings::default() }.validate().is_ok()
        };
        for len in [8, 9, 64, 128] {
            assert!(ok(len), "{len}");
        }
        for len in [0, 1, 7, 129, u32::MAX] {
            assert!(!ok(len), "{len}");
        }
    }

    #[test]
    fn password_settings_default_to_the_floor_with_the_list_and_no_registration() {
        let s = TenantSettings::default();
        assert_eq!(
            (s.password_min_length, s.password_reject_common, s.self_service_registration),
            (8, true, false)
        );
        assert_eq!(s.password_policy(), PasswordPolicy::default());
        let old: TenantSettings = serde_json::from_str(r#"{"code_ttl_secs": 30}"#).expect("old body");
        assert_eq!(old.password_policy(), PasswordPolicy::default());
        assert!(!old.self_service_registration);
        let set: TenantSettings = serde_json::from_str(
            r#"{"password_min_length": 12, "password_reject_common": false, "self_service_registration": true}"#,
        )
        .expect("set");
        assert_eq!(set.password_policy(), PasswordPolicy { min_chars: 12, reject_common: false });
        assert!(set.self_service_registration);
        let shown = serde_json::to_value(TenantSettings::default()).expect("json");
        assert_eq!(shown["password_min_length"], 8);
        assert_eq!(shown["password_reject_common"], true);
        assert_eq!(shown["self_service_registration"], false);
    }

    #[test]
    fn audit_retention_defaults_to_ninety_days_and_is_bounded() {
        let ok = |audit_retention_days| {
            TenantSettings { audit_retention_days, ..TenantSettings::default() }.validate().is_ok()
        };
        for days in [1, 90, 3650] {
            assert!(ok(days), "{days}");
        }
        for days in [0, 3651, u32::MAX] {
            assert!(!ok(days), "{days}");
        }
        let old: TenantSettings = serde_json::from_str(r#"{"code_ttl_secs": 30}"#).expect("old body");
        assert_eq!(old.audit_retention_days, 90);
        let s = TenantSettings { audit_retention_days: 2, ..TenantSettings::default() };
        assert_eq!(s.audit_kept_from(1_000_000), 1_000_000 - 2 * 86_400);
        let shown = serde_json::to_value(TenantSettings::default()).expect("json");
        assert_eq!(shown["audit_retention_days"], 90);
    }

    #[test]
    fn settings_json_without_the_new_fields_still_parses_and_null_clears() {
        let old: TenantSettings = serde_json::from_str(r#"{"code_ttl_secs": 30}"#).expect("old body");
        assert_eq!(old.session_ttl_secs, None);
        assert_eq!(old.refresh_reuse_grace_secs, None);
        let set: TenantSettings =
            serde_json::from_str(r#"{"session_ttl_secs": 120, "refresh_reuse_grace_secs": 0}"#).expect("set");
        assert_eq!((set.session_ttl_secs, set.refresh_reuse_grace_secs), (Some(120), Some(0)));
        let cleared: TenantSettings =
            serde_json::from_str(r#"{"session_ttl_secs": null, "refresh_reuse_grace_secs": null}"#)
                .expect("null");
        assert_eq!(cleared, TenantSettings::default());
        let shown = serde_json::to_value(TenantSettings::default()).expect("json");
        assert!(shown["session_ttl_secs"].is_null() && shown["refresh_reuse_grace_secs"].is_null());
    }
}
