//! The codec's tests of version 5 of tenants (scope rules were added to their settings): the
//! golden bytes, a version-4 tenant read with no rules (through the frozen layout the old
//! encoder wrote), and rules out of bounds refused before a write.

use rkyv::rancor;
use tessera_core::model::ScopePermission;

use super::super::legacy::{TenantSettingsV4, TenantV4};
use super::events::{GOLDEN_TENANT_V4, retained_tenant};
use super::*;

/// The version-5 bytes of `ruled_tenant()`; see [`GOLDEN_TENANT_V1`] for what a failure means.
pub(super) const GOLDEN_TENANT_V5: &str = "0541636d6520436f72706f726174696f6e204c7464646f63732e7772697465646f63733a77726974658a000000ecffff\
    ff8a000000eeffffff61636d65ffffffff94000000c0ffffff01000000dcffffff01000000100e0000100e0000007512\
    003c00000007000000010000007800000001000000000000000c0000000001000000f1536500000000";

/// `retained_tenant()` with one scope rule.
pub(super) fn ruled_tenant() -> Tenant {
    let mut t = retained_tenant();
    t.settings.scope_permissions =
        vec![ScopePermission { scope: "docs.write".into(), permission: "docs:write".into() }];
    t
}

#[test]
fn version_4_tenants_decode_without_scope_rules() {
    let v4 = unhex(GOLDEN_TENANT_V4);
    let decoded = decode::<Tenant>(b"acme", &v4).unwrap();
    assert!(decoded.settings.scope_permissions.is_empty());
    let s = retained_tenant().settings;
    let old = TenantV4 {
        id: "acme".into(),
        display_name: "Acme Corporation Ltd".into(),
        settings: TenantSettingsV4 {
            access_token_alg: s.access_token_alg,
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
        },
        created_at: 1_700_000_000,
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v4[1..], "the frozen layout");
}

#[test]
fn version_5_tenants_decode_with_their_scope_rules() {
    // Version 5 is on disk now (tenants are written as version 6, `rate_limits`).
    assert_eq!(decode::<Tenant>(b"acme", &unhex(GOLDEN_TENANT_V5)).unwrap(), ruled_tenant());
    round_trips_and_resists_garbage(b"acme", &ruled_tenant());
    let mut bad = ruled_tenant();
    bad.settings
        .scope_permissions
        .push(ScopePermission { scope: "docs.write".into(), permission: "x".into() });
    assert!(encode(b"acme", &bad).is_err(), "a scope named twice");
    let mut bad = ruled_tenant();
    bad.settings.scope_permissions[0].permission = "two words".into();
    assert!(encode(b"acme", &bad).is_err(), "an invalid permission");
}
