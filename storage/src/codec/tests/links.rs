//! The codec's tests of federated links: version 1 pinned by golden bytes, any printable
//! subject kept, and a link read back under another tenant's, identity provider's or
//! subject's key refused as corrupt.

use tessera_core::model::FederatedLink;

use super::*;

/// The version-1 bytes of `link()`; see [`GOLDEN_TENANT_V1`] for what a failure means.
const GOLDEN_LINK_V1: &str = "014949494949494949494949494949494949494949494968747470733a2f2f6964702e6578616d706c652f752f4ac3bc\
7267656e3a3155555555555555555555555555555555555555555555000000000061636d65ffffffff96000000a8ffffff9f000000b6ffffff96000000cdffffff00f1536500000000";

const LINK_KEY: &[u8] = "acme\0IIIIIIIIIIIIIIIIIIIIII\0https://idp.example/u/Jürgen:1".as_bytes();

fn link() -> FederatedLink {
    FederatedLink {
        tenant: "acme".into(),
        idp: "IIIIIIIIIIIIIIIIIIIIII".into(),
        subject: "https://idp.example/u/Jürgen:1".into(),
        user_id: "UUUUUUUUUUUUUUUUUUUUUU".into(),
        created_at: 1_700_000_000,
    }
}

#[test]
fn links_are_written_as_version_1() {
    assert_eq!(<FederatedLink as Record>::FORMAT, FORMAT_V1);
    assert_golden(LINK_KEY, &link(), GOLDEN_LINK_V1);
    round_trips_and_resists_garbage(LINK_KEY, &link());
}

#[test]
fn a_link_lives_under_exactly_its_tenant_identity_provider_and_subject() {
    let bytes = encode(LINK_KEY, &link()).unwrap();
    for other in [
        "other\0IIIIIIIIIIIIIIIIIIIIII\0https://idp.example/u/Jürgen:1".as_bytes(),
        "acme\0JJJJJJJJJJJJJJJJJJJJJJ\0https://idp.example/u/Jürgen:1".as_bytes(),
        "acme\0IIIIIIIIIIIIIIIIIIIIII\0https://idp.example/u/jürgen:1".as_bytes(),
        b"acme\0IIIIIIIIIIIIIIIIIIIIII",
    ] {
        assert!(encode(other, &link()).is_err(), "{other:?}");
        assert!(
            matches!(decode::<FederatedLink>(other, &bytes), Err(StoreError::Corrupt { .. })),
            "{other:?}"
        );
    }
    let bad = FederatedLink { subject: "a\u{1b}b".into(), ..link() };
    assert!(
        encode("acme\0IIIIIIIIIIIIIIIIIIIIII\0a\u{1b}b".as_bytes(), &bad).is_err(),
        "a control character"
    );
}
