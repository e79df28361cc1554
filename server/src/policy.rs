//! The server-wide policy of the end-user side (session lifetime, refresh reuse grace, login
//! rate limits, the bound on password work), read from the configuration (`config.rs`). A leaf:
//! the configuration, the shared state and the login limiters all read it, and it reads none of
//! them.

use tessera_core::model::Tenant;

/// Server-wide policy of the end-user side, set by configuration (`config.rs`). The session
/// lifetime and the refresh reuse grace are defaults a tenant's settings may override: read
/// them through [`Policy::session_ttl_secs_for`] and [`Policy::refresh_reuse_grace_secs_for`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Lifetime of an SSO session (and of its cookie).
    pub session_ttl_secs: u32,
    /// How long after a refresh token is rotated a retry with it still succeeds instead of
    /// counting as reuse. 0 by default, as in Ory Hydra and Auth0: a rotated token presented
    /// again revokes its family (OAuth 2.0 Security BCP 4.14.2); a tenant whose clients lose
    /// answers on flaky networks may allow a few seconds.
    pub refresh_reuse_grace_secs: u32,
    /// Password attempts allowed per (tenant, username, client address) per minute; the
    /// looser limit across addresses (`password/limits.rs`) is derived from it.
    pub login_attempts_per_user_per_minute: u32,
    /// Password attempts allowed per client IP address (an IPv6 /64) per minute.
    pub login_attempts_per_ip_per_minute: u32,
    /// How long a lockout lasts, once one of those two limits refuses, for a server started
    /// meanwhile (`guard.rs`): 1 to [`MAX_LOGIN_LOCKOUT_SECS`].
    pub login_lockout_secs: u32,
    /// Password verifications and hashes running at once, at most (`password/gate.rs`), 1 to
    /// [`MAX_CONCURRENT_PASSWORD_CHECKS`].
    pub max_concurrent_password_checks: usize,
    /// How long a password check may wait for a free slot before it is answered 503; 0: never
    /// wait.
    pub password_check_max_wait_ms: u32,
    /// How often an API key's last use, noted in memory at each use, is written to its record
    /// (`api_keys.rs`): at most one write per key per interval, however busy the key.
    pub api_key_last_use_interval_secs: u32,
    /// Failures in a row after which an identity validator is skipped (`identity/breaker.rs`).
    pub validator_circuit_failures: u32,
    /// How long a validator is skipped before one call tries it again.
    pub validator_circuit_open_secs: u32,
    /// How old an identity provider's endpoints may be before a sign-in there reads its
    /// discovery document again (`federation/refresh.rs`); 0: at every sign-in.
    pub idp_discovery_refresh_secs: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            session_ttl_secs: 36_000,
            refresh_reuse_grace_secs: 0,
            login_attempts_per_user_per_minute: 10,
            login_attempts_per_ip_per_minute: 60,
            login_lockout_secs: 60,
            max_concurrent_password_checks: default_password_checks(),
            password_check_max_wait_ms: 2_000,
            api_key_last_use_interval_secs: 60,
            validator_circuit_failures: 5,
            validator_circuit_open_secs: 30,
            idp_discovery_refresh_secs: 86_400,
        }
    }
}

/// The longest lockout that may be configured: an hour; longer would let a guesser keep a
/// shared address (an office, a carrier's NAT) out for longer than a person would wait.
pub const MAX_LOGIN_LOCKOUT_SECS: u32 = 3600;

/// The most password checks that may be configured to run at once: each has a thread and
/// 19 MiB of its own, so this many is already 19 GiB.
pub const MAX_CONCURRENT_PASSWORD_CHECKS: usize = 1024;

/// One password check per core: argon2id keeps a core busy, so more at once cannot finish
/// sooner and only hold more memory (19 MiB each).
fn default_password_checks() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

impl Policy {
    /// The lifetime of `tenant`'s SSO sessions (and of their cookies): its setting, else the
    /// server's.
    pub fn session_ttl_secs_for(&self, tenant: &Tenant) -> u32 {
        tenant.settings.session_ttl_secs.unwrap_or(self.session_ttl_secs)
    }

    /// The refresh-token reuse grace of `tenant`: its setting, else the server's.
    pub fn refresh_reuse_grace_secs_for(&self, tenant: &Tenant) -> u32 {
        tenant.settings.refresh_reuse_grace_secs.unwrap_or(self.refresh_reuse_grace_secs)
    }
}

#[cfg(test)]
mod tests {
    use tessera_core::model::TenantSettings;

    use super::*;

    #[test]
    fn tenant_settings_override_the_end_user_lifetimes() {
        let policy = Policy::default();
        let mut tenant = Tenant {
            id: "t".into(),
            display_name: "t".into(),
            settings: TenantSettings::default(),
            created_at: 0,
            apis: Vec::new(),
            identity_validators: Vec::new(),
            trusted_issuers: Vec::new(),
            idps: Vec::new(),
            direct_authz_token_digest: None,
            direct_authz_encryption: None,
        };
        assert_eq!(policy.session_ttl_secs_for(&tenant), 36_000);
        assert_eq!(policy.refresh_reuse_grace_secs_for(&tenant), 0, "no grace unless asked for");
        tenant.settings.session_ttl_secs = Some(120);
        tenant.settings.refresh_reuse_grace_secs = Some(10);
        assert_eq!(policy.session_ttl_secs_for(&tenant), 120);
        assert_eq!(policy.refresh_reuse_grace_secs_for(&tenant), 10);
    }
}
