//! The codec's tests of the format trusted issuers brought: tenants version 7 (their trusted
//! issuers, now a frozen layout), with the frozen version-6 layout read back unchanged, and
//! used assertions.

use rkyv::rancor;
use tessera_core::model::{TrustedIssuer, UsedAssertion};

use super::super::legacy_idps::TenantV7;
use super::super::legacy_issuers::{TenantSettingsV6, TenantV6};
use super::resources::{GOLDEN_TENANT_V6, tenant_with_resources};
use super::*;

/// The version-7 bytes of `tenant_with_issuers()`; see [`GOLDEN_TENANT_V1`] for what a
/// failure means.
pub(super) const GOLDEN_TENANT_V7: &str = "0741636d6520436f72706f726174696f6e204c7464646f63732e7772697465646f63733a77726974658a000000ecffff\
ff8a000000eeffffff68747470733a2f2f6f72646572732e6578616d706c652f6170696f72646572733a726561640000\
008b000000f2ffffff6170692d31ffffff9a000000c8ffffff4f7264657273ffffe0ffffff0100000001010000010000\
00780000000000000000f15365000000004c4441502062726964676568747470733a2f2f6c6461702e6578616d706c65\
2f636865636b417574686f72697a6174696f6e00008d000000f1ffffff426561726572206b6170692d31ffffff000000\
00762d31ffffffffff8b000000a8ffffff9a000000abffffffd0070000c8ffffff01000000d0ffffff01000000000000\
0001f153650000000068747470733a2f2f706172746e65722e6578616d706c6568747470733a2f2f706172746e65722e\
6578616d706c652f6a776b732a40706172746e65722e6578616d706c6575726e3a696e6c696e657b226b657973223a5b\
5d7d0000000000000074692d31ffffffff506172746e6572ff9700000090ffffff010000009c0000009bffffff000000\
00000000000000000001000000910000009fffffff0100000074657373657261ff01000000706172746e6572ff000000\
0002f153650000000074692d32ffffffff496e6c696e65ffff8a00000074ffffff000000000000000000000000010000\
008b00000066ffffff000000000000000000000000000000000000000000000000000000000000000000000000000000\
0003f153650000000061636d65ffffffff94000000b0fdffff01000000ccfdffff01000000100e0000100e0000007512\
003c00000007000000010000007800000001000000000000000c00000000010000010000000000000001000000320000\
00640000000000000000f1536500000000b8fdffff0100000038feffff01000000c8feffff02000000";

/// `s` in the settings layout of versions 6 to 8, for the frozen-layout tests.
pub(super) fn settings_v6(s: TenantSettings) -> TenantSettingsV6 {
    TenantSettingsV6 {
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
    }
}

/// `tenant_with_resources()` with two trusted issuers: one with a JWKS URL, a subject
/// pattern, an audience and a prefix; one with inline keys and nothing else.
pub(super) fn tenant_with_issuers() -> Tenant {
    let mut t = tenant_with_resources();
    t.trusted_issuers = vec![
        TrustedIssuer {
            id: "ti-1".into(),
            name: "Partner".into(),
            issuer: "https://partner.example".into(),
            jwks_uri: Some("https://partner.example/jwks".into()),
            jwks: None,
            allowed_subjects: Some("*@partner.example".into()),
            audience: Some("tessera".into()),
            subject_prefix: Some("partner".into()),
            created_at: 1_700_000_002,
        },
        TrustedIssuer {
            id: "ti-2".into(),
            name: "Inline".into(),
            issuer: "urn:inline".into(),
            jwks_uri: None,
            jwks: Some(r#"{"keys":[]}"#.into()),
            allowed_subjects: None,
            audience: None,
            subject_prefix: None,
            created_at: 1_700_000_003,
        },
    ];
    t
}

#[test]
fn version_6_tenants_decode_without_trusted_issuers_through_their_frozen_layout() {
    let v6 = unhex(GOLDEN_TENANT_V6);
    let decoded = decode::<Tenant>(b"acme", &v6).unwrap();
    assert!(decoded.trusted_issuers.is_empty());
    assert_eq!(decoded, tenant_with_resources(), "everything else as it was");
    let t = tenant_with_resources();
    let s = t.settings;
    let old = TenantV6 {
        id: t.id,
        display_name: t.display_name,
        settings: settings_v6(s),
        created_at: t.created_at,
        apis: t.apis,
        identity_validators: t.identity_validators,
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v6[1..], "the frozen layout");
}

#[test]
fn version_7_tenants_keep_their_trusted_issuers_through_their_frozen_layout() {
    let v7 = unhex(GOLDEN_TENANT_V7);
    assert_eq!(v7[0], FORMAT_V7);
    let decoded = decode::<Tenant>(b"acme", &v7).unwrap();
    assert!(decoded.idps.is_empty());
    assert_eq!(decoded, tenant_with_issuers(), "everything else as it was");
    let t = tenant_with_issuers();
    let s = t.settings;
    let old = TenantV7 {
        id: t.id,
        display_name: t.display_name,
        settings: settings_v6(s),
        created_at: t.created_at,
        apis: t.apis,
        identity_validators: t.identity_validators,
        trusted_issuers: t.trusted_issuers,
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v7[1..], "the frozen layout");
}

#[test]
fn trusted_issuers_are_checked_as_they_are_written() {
    round_trips_and_resists_garbage(b"acme", &tenant_with_issuers());
    let mut bad = tenant_with_issuers();
    bad.trusted_issuers[1].issuer = bad.trusted_issuers[0].issuer.clone();
    assert!(encode(b"acme", &bad).is_err(), "one issuer twice");
    let mut bad = tenant_with_issuers();
    bad.trusted_issuers[0].jwks = Some(r#"{"keys":[]}"#.into());
    assert!(encode(b"acme", &bad).is_err(), "two key sources");
}

#[test]
fn used_assertions_live_under_their_tenant() {
    let key = [&b"acme\0"[..], &[7u8; 32]].concat();
    let used = UsedAssertion { tenant: "acme".into(), expires_at: 1_700_000_100 };
    round_trips_and_resists_garbage(&key, &used);
    assert!(encode(&[&b"other\0"[..], &[7u8; 32]].concat(), &used).is_err(), "another tenant's key");
    assert!(encode(b"acme\0short", &used).is_err(), "not a digest");
}
