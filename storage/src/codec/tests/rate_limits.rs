//! The codec's tests of version 6 of tenants and version 4 of clients (token-endpoint rate
//! limits were added to both): the golden bytes, the older versions read with no limit
//! (through the frozen layouts the old encoders wrote), and quotas out of bounds refused
//! before a write.

use rkyv::rancor;
use tessera_core::model::{RateLimit, RateLimitOverride};

use super::super::legacy::{ClientV3, TenantSettingsV5, TenantV5};
use super::scope_rules::{GOLDEN_TENANT_V5, ruled_tenant};
use super::*;

/// The version-6 bytes of `limited_tenant()`; see [`GOLDEN_TENANT_V1`] for what a failure means.
pub(super) const GOLDEN_TENANT_V6: &str = "0641636d6520436f72706f726174696f6e204c7464646f63732e7772697465646f63733a77726974658a000000ecffff\
    ff8a000000eeffffff61636d65ffffffff94000000c0ffffff01000000dcffffff01000000100e0000100e0000007512\
    003c00000007000000010000007800000001000000000000000c00000000010000010000003200000064000000000000\
    0000f1536500000000";

/// The version-4 bytes of `limited_client()`; see [`GOLDEN_TENANT_V1`] for what a failure means.
pub(super) const GOLDEN_CLIENT_V4: &str = "04010268747470733a2f2f6170702e6578616d706c652f636296000000eaffffff636f6465ffffffff6f70656e6964ff\
    ff70726f66696c65ff68747470733a2f2f6170702e6578616d706c652f6279650097000000e8ffffff61636d65ffffff\
    ff776562ffffffffff57656220417070ff01070707070707070707070707070707070707070707070707070707070707\
    07070000006cffffff020000007cffffff010000007cffffff010000007cffffff020000000101000098ffffff010000\
    00010000000000000000f15365000000000100000000000000f5f2536500000000010000000100000005000000070000\
    00";

/// `ruled_tenant()` holding its clients to 50 a second, 100 at once.
fn limited_tenant() -> Tenant {
    let mut t = ruled_tenant();
    t.settings.token_rate_limit = Some(RateLimit { per_second: 50, burst: 100 });
    t
}

/// `cut_off_client()` with a quota of its own.
fn limited_client() -> Client {
    let mut c = cut_off_client();
    c.token_rate_limit = Some(RateLimitOverride::Limit(RateLimit { per_second: 5, burst: 7 }));
    c
}

#[test]
fn version_5_tenants_decode_unlimited() {
    let v5 = unhex(GOLDEN_TENANT_V5);
    let decoded = decode::<Tenant>(b"acme", &v5).unwrap();
    assert_eq!(decoded.settings.token_rate_limit, None);
    let t = ruled_tenant();
    let s = t.settings;
    let old = TenantV5 {
        id: t.id,
        display_name: t.display_name,
        settings: TenantSettingsV5 {
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
        },
        created_at: t.created_at,
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v5[1..], "the frozen layout");
}

#[test]
fn version_3_clients_decode_with_the_tenant_quota() {
    let v3 = unhex(GOLDEN_CLIENT_V3);
    let decoded = decode::<Client>(CLIENT_KEY, &v3).unwrap();
    assert_eq!(decoded.token_rate_limit, None);
    let c = cut_off_client();
    let old = ClientV3 {
        tenant: c.tenant,
        client_id: c.client_id,
        client_name: c.client_name,
        secret_digest: c.secret_digest,
        grant_types: c.grant_types,
        redirect_uris: c.redirect_uris,
        response_types: c.response_types,
        scope: c.scope,
        token_endpoint_auth_method: c.token_endpoint_auth_method,
        access_token_format: c.access_token_format,
        id_token_signed_response_alg: c.id_token_signed_response_alg,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        first_party: c.first_party,
        created_at: c.created_at,
        pkce_plain_allowed: c.pkce_plain_allowed,
        grants_valid_from: c.grants_valid_from,
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v3[1..], "the frozen layout");
}

#[test]
fn tenants_are_written_as_version_6_with_their_quota() {
    assert_eq!(Tenant::FORMAT, FORMAT_V6);
    assert_golden(b"acme", &limited_tenant(), GOLDEN_TENANT_V6);
    round_trips_and_resists_garbage(b"acme", &limited_tenant());
    let mut bad = limited_tenant();
    bad.settings.token_rate_limit = Some(RateLimit { per_second: 0, burst: 1 });
    assert!(encode(b"acme", &bad).is_err(), "a zero rate");
}

#[test]
fn clients_are_written_as_version_4_with_their_quota() {
    assert_eq!(Client::FORMAT, FORMAT_V4);
    assert_golden(CLIENT_KEY, &limited_client(), GOLDEN_CLIENT_V4);
    round_trips_and_resists_garbage(CLIENT_KEY, &limited_client());
    let unlimited = Client { token_rate_limit: Some(RateLimitOverride::Unlimited), ..cut_off_client() };
    round_trips_and_resists_garbage(CLIENT_KEY, &unlimited);
    let bad = Client {
        token_rate_limit: Some(RateLimitOverride::Limit(RateLimit { per_second: 1, burst: 0 })),
        ..cut_off_client()
    };
    assert!(encode(CLIENT_KEY, &bad).is_err(), "a zero burst");
}
