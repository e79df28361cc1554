//! The codec's tests of version 4 of tenants (the audit retention was added to their settings)
//! and of audit events: golden bytes, the older tenant read with the default retention,
//! bounds refused before a write, and damage caught after a read.

use rkyv::rancor;
use tessera_core::model::{Actor, AuditEvent, EventType, Outcome, event_id};

use super::super::legacy::{TenantSettingsV3, TenantV3};
use super::*;

/// The version-4 bytes of `retained_tenant()`; see [`GOLDEN_TENANT_V1`] for what a failure
/// means.
pub(super) const GOLDEN_TENANT_V4: &str = "0441636d6520436f72706f726174696f6e204c74640000000061636d65ffffffff\
    94000000e0ffffff01000000100e0000100e0000007512003c00000007000000010000007800000001000000000000000c0000000001000000f1536500000000";

/// `strict_tenant()` keeping its events for a week.
pub(super) fn retained_tenant() -> Tenant {
    let mut t = strict_tenant();
    t.settings.audit_retention_days = 7;
    t
}

#[test]
fn version_3_tenants_decode_with_the_default_audit_retention() {
    let v3 = unhex(GOLDEN_TENANT_V3);
    let decoded = decode::<Tenant>(b"acme", &v3).unwrap();
    assert_eq!(decoded, strict_tenant());
    assert_eq!(decoded.settings.audit_retention_days, 90);
    // The frozen layout is the one the old encoder wrote, byte for byte.
    let s = strict_tenant().settings;
    let old = TenantV3 {
        id: "acme".into(),
        display_name: "Acme Corporation Ltd".into(),
        settings: TenantSettingsV3 {
            access_token_alg: s.access_token_alg,
            access_token_ttl_secs: s.access_token_ttl_secs,
            id_token_ttl_secs: s.id_token_ttl_secs,
            refresh_token_ttl_secs: s.refresh_token_ttl_secs,
            code_ttl_secs: s.code_ttl_secs,
            session_ttl_secs: s.session_ttl_secs,
            refresh_reuse_grace_secs: s.refresh_reuse_grace_secs,
            password_min_length: s.password_min_length,
            password_reject_common: s.password_reject_common,
            self_service_registration: s.self_service_registration,
        },
        created_at: 1_700_000_000,
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v3[1..]);
    assert!(matches!(decode::<Tenant>(b"other", &v3), Err(StoreError::Corrupt { .. })));
}

#[test]
fn version_4_tenants_decode_and_settings_stay_bounded() {
    // Version 4 is on disk now (tenants are written as version 5, `scope_rules`).
    assert_eq!(decode::<Tenant>(b"acme", &unhex(GOLDEN_TENANT_V4)).unwrap(), retained_tenant());
    for (ttl, grace) in [(None, None), (Some(60), None), (None, Some(300))] {
        let t = acme_tenant(ttl, grace);
        let bytes = encode(b"acme", &t).unwrap();
        assert_eq!(decode::<Tenant>(b"acme", &bytes).unwrap(), t);
    }
    // Settings out of bounds are not written.
    assert!(encode(b"acme", &acme_tenant(Some(59), None)).is_err());
    assert!(encode(b"acme", &acme_tenant(None, Some(301))).is_err());
    for len in [7, 129] {
        let mut t = strict_tenant();
        t.settings.password_min_length = len;
        assert!(encode(b"acme", &t).is_err(), "{len}");
    }
    for days in [0, 3651] {
        let mut t = retained_tenant();
        t.settings.audit_retention_days = days;
        assert!(encode(b"acme", &t).is_err(), "{days}");
    }
    round_trips_and_resists_garbage(b"acme", &retained_tenant());
}

const EVENT_ID_MILLIS: i64 = 1_700_000_000_123;

fn event() -> AuditEvent {
    AuditEvent {
        id: event_id(EVENT_ID_MILLIS, [9; 10]),
        tenant: "acme".into(),
        at: 1_700_000_000,
        kind: EventType::TokenFailure,
        actor: Actor::Client { client_id: "web".into() },
        action: "client_credentials".into(),
        target: "token".into(),
        source: Some("192.0.2.7".into()),
        outcome: Outcome::Failure,
        reason: Some("invalid_scope".into()),
    }
}

fn event_key(e: &AuditEvent) -> Vec<u8> {
    crate::keys::event_key(&e.tenant, &e.id).unwrap()
}

/// The version-1 bytes of `event()`; see [`GOLDEN_TENANT_V1`] for what a failure means.
const GOLDEN_EVENT_V1: &str = "0130314846375941543356313434474a323839313434474a323839636c69656e745f63726564656e7469616c73313932\
    2e302e322e37696e76616c69645f73636f70650000000000009a000000b8ffffff61636d65ffffffff00f15365000000\
    000300000004000000776562ffffffffff000000000000000092000000a2ffffff746f6b656effffff01000000890000\
    00a0ffffff01000000010000008d00000099ffffff00000000";

#[test]
fn events_are_written_as_version_1_and_checked_against_their_key() {
    let e = event();
    assert_golden(&event_key(&e), &e, GOLDEN_EVENT_V1);
    round_trips_and_resists_garbage(&event_key(&e), &e);
    // Under another tenant's key, or another id's: corrupt.
    let bytes = encode(&event_key(&e), &e).unwrap();
    let other = crate::keys::event_key("other", &e.id).unwrap();
    assert!(matches!(decode::<AuditEvent>(&other, &bytes), Err(StoreError::Corrupt { .. })));
    let later = crate::keys::event_key("acme", &event_id(EVENT_ID_MILLIS + 1, [9; 10])).unwrap();
    assert!(matches!(decode::<AuditEvent>(&later, &bytes), Err(StoreError::Corrupt { .. })));
    // Bounds are refused before a write.
    let long = AuditEvent { target: "t".repeat(300), ..event() };
    assert!(matches!(encode(&event_key(&long), &long), Err(StoreError::Corrupt { .. })));
    // Every actor kind round-trips.
    for actor in [
        Actor::AdminKey,
        Actor::Token { sub: "u1".into(), client_id: "web".into() },
        Actor::ApiKey { id: "k1".into() },
        Actor::EndUser { sub: "u1".into() },
        Actor::Client { client_id: "web".into() },
        Actor::Anonymous,
    ] {
        let e = AuditEvent { actor, ..event() };
        assert_eq!(decode::<AuditEvent>(&event_key(&e), &encode(&event_key(&e), &e).unwrap()).unwrap(), e);
    }
}
