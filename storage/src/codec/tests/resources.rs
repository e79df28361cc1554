//! The codec's tests of the formats APIs, identity validators and token-endpoint quotas
//! brought: tenants version 6 (their APIs, validators, the local directory's place and their
//! clients' default quota), clients version 4 (the APIs they may use and their own quota),
//! with the frozen layouts they replaced read back unchanged, and quotas out of bounds
//! refused before a write.

use rkyv::rancor;
use tessera_core::model::{Api, IdentityValidator, RateLimit, RateLimitOverride, ValidatorHeader};

use super::super::legacy_resources::{ClientV3, TenantSettingsV5, TenantV5};
use super::scope_rules::{GOLDEN_TENANT_V5, ruled_tenant};
use super::*;

/// The version-6 bytes of `tenant_with_resources()`; see [`GOLDEN_TENANT_V1`] for what a
/// failure means.
pub(super) const GOLDEN_TENANT_V6: &str = "0641636d6520436f72706f726174696f6e204c7464646f63732e7772697465646f63733a77726974658a000000ecffff\
ff8a000000eeffffff68747470733a2f2f6f72646572732e6578616d706c652f6170696f72646572733a726561640000\
008b000000f2ffffff6170692d31ffffff9a000000c8ffffff4f7264657273ffffe0ffffff0100000001010000010000\
00780000000000000000f15365000000004c4441502062726964676568747470733a2f2f6c6461702e6578616d706c65\
2f636865636b417574686f72697a6174696f6e00008d000000f1ffffff426561726572206b6170692d31ffffff000000\
00762d31ffffffffff8b000000a8ffffff9a000000abffffffd0070000c8ffffff01000000d0ffffff01000000000000\
0001f153650000000061636d65ffffffff94000000d0feffff01000000ecfeffff01000000100e0000100e0000007512\
003c00000007000000010000007800000001000000000000000c00000000010000010000000000000001000000320000\
00640000000000000000f1536500000000d8feffff0100000058ffffff01000000";

/// The version-4 bytes of `client_with_apis()`; see [`GOLDEN_TENANT_V1`].
pub(super) const GOLDEN_CLIENT_V4: &str = "04010268747470733a2f2f6170702e6578616d706c652f636296000000eaffffff636f6465ffffffff6f70656e6964ff\
ff70726f66696c65ff68747470733a2f2f6170702e6578616d706c652f6279650097000000e8ffffff6170692d31ffff\
ff61636d65ffffffff776562ffffffffff57656220417070ff0107070707070707070707070707070707070707070707\
0707070707070707070700000064ffffff0200000074ffffff0100000074ffffff0100000074ffffff02000000010100\
0090ffffff01000000010000000000000000f15365000000000100000000000000f5f2536500000000010000006cffff\
ff010000000100000001000000050000000700000000000000";

/// `ruled_tenant()` with an API, a validator linked to it, the local directory first, and
/// its clients held to 50 token requests a second, 100 at once.
pub(super) fn tenant_with_resources() -> Tenant {
    let mut t = ruled_tenant();
    t.apis = vec![Api {
        id: "api-1".into(),
        identifier: "https://orders.example/api".into(),
        name: "Orders".into(),
        scopes: vec!["orders:read".into()],
        access_token_format: Some(AccessTokenFormat::Opaque),
        access_token_ttl_secs: Some(120),
        created_at: 1_700_000_000,
    }];
    t.identity_validators = vec![IdentityValidator {
        id: "v-1".into(),
        name: "LDAP bridge".into(),
        url: "https://ldap.example/check".into(),
        timeout_ms: 2_000,
        headers: vec![ValidatorHeader { name: "Authorization".into(), value: "Bearer k".into() }],
        apis: vec!["api-1".into()],
        created_at: 1_700_000_001,
    }];
    t.settings.local_directory_position = Some(0);
    t.settings.token_rate_limit = Some(RateLimit { per_second: 50, burst: 100 });
    t
}

/// `cut_off_client()` limited to one API, with a quota of its own.
fn client_with_apis() -> Client {
    Client {
        apis: Some(vec!["api-1".into()]),
        token_rate_limit: Some(RateLimitOverride::Limit(RateLimit { per_second: 5, burst: 7 })),
        ..cut_off_client()
    }
}

#[test]
fn version_5_tenants_decode_without_apis_through_their_frozen_layout() {
    let v5 = unhex(GOLDEN_TENANT_V5);
    let decoded = decode::<Tenant>(b"acme", &v5).unwrap();
    assert!(decoded.apis.is_empty() && decoded.identity_validators.is_empty());
    assert_eq!(decoded.settings.local_directory_position, None);
    assert_eq!(decoded.settings.token_rate_limit, None, "unlimited");
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
fn tenants_with_apis_and_validators_round_trip_and_are_checked() {
    round_trips_and_resists_garbage(b"acme", &tenant_with_resources());
    // What the admin API refuses is refused at the store too.
    let mut bad = tenant_with_resources();
    bad.apis.push(bad.apis[0].clone());
    assert!(encode(b"acme", &bad).is_err(), "an API twice");
    let mut bad = tenant_with_resources();
    bad.identity_validators[0].url = "ftp://x".into();
    assert!(encode(b"acme", &bad).is_err(), "a validator URL that is not http");
    let mut bad = tenant_with_resources();
    bad.apis[0].identifier = "relative".into();
    assert!(encode(b"acme", &bad).is_err(), "an identifier that is not an absolute URI");
    let mut bad = tenant_with_resources();
    bad.settings.token_rate_limit = Some(RateLimit { per_second: 0, burst: 1 });
    assert!(encode(b"acme", &bad).is_err(), "a zero rate");
}

#[test]
fn version_3_clients_use_every_api_and_clients_are_written_as_version_4() {
    let v3 = unhex(GOLDEN_CLIENT_V3);
    let decoded = decode::<Client>(CLIENT_KEY, &v3).unwrap();
    assert_eq!((decoded.apis, decoded.token_rate_limit), (None, None));
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
    assert_eq!(Client::FORMAT, FORMAT_V4);
    assert_golden(CLIENT_KEY, &client_with_apis(), GOLDEN_CLIENT_V4);
    round_trips_and_resists_garbage(CLIENT_KEY, &client_with_apis());
    let unlimited = Client { token_rate_limit: Some(RateLimitOverride::Unlimited), ..cut_off_client() };
    round_trips_and_resists_garbage(CLIENT_KEY, &unlimited);
    let bad = Client {
        token_rate_limit: Some(RateLimitOverride::Limit(RateLimit { per_second: 1, burst: 0 })),
        ..cut_off_client()
    };
    assert!(encode(CLIENT_KEY, &bad).is_err(), "a zero burst");
}
