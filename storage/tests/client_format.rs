//! Client records across the format change that added `pkce_plain_allowed`: a version-1 record
//! left on disk by an older Tessera reads back after reopening (as a client without the `plain`
//! opt-in), and the next write of that client replaces it with a record of the current version
//! (3, since `grants_valid_from`).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tessera_core::model::{AccessTokenFormat, Client, GrantType, SigningAlg, TokenEndpointAuthMethod};
use tessera_core::store::{ClientStore, TenantStore};

/// What the version-1 encoder wrote for [`old_client`] under `acme\0web`; the same bytes as
/// `GOLDEN_CLIENT_V1` in the storage crate's codec tests.
const CLIENT_V1: &str = "01010268747470733a2f2f6170702e6578616d706c652f636296000000eaffffff636f6465ffffffff6f70656e6964ffff\
    70726f66696c65ff68747470733a2f2f6170702e6578616d706c652f6279650097000000e8ffffff61636d65ffffffff\
    776562ffffffffff57656220417070ff0107070707070707070707070707070707070707070707070707070707070707\
    070000006cffffff020000007cffffff010000007cffffff010000007cffffff020000000101000098ffffff01000000\
    010000000000000000f1536500000000";

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// The client [`CLIENT_V1`] holds, as the current model reads it.
fn old_client() -> Client {
    Client {
        tenant: "acme".into(),
        client_id: "web".into(),
        client_name: "Web App".into(),
        secret_digest: Some([7; 32]),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        redirect_uris: vec!["https://app.example/cb".into()],
        response_types: vec!["code".into()],
        scope: vec!["openid".into(), "profile".into()],
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretPost,
        access_token_format: AccessTokenFormat::Opaque,
        id_token_signed_response_alg: SigningAlg::ES256,
        post_logout_redirect_uris: vec!["https://app.example/bye".into()],
        first_party: true,
        created_at: 1_700_000_000,
        pkce_plain_allowed: false,
        grants_valid_from: 0,
        apis: None,
        token_rate_limit: None,
    }
}

fn raw_value(dir: &std::path::Path, keyspace: &str, key: &[u8]) -> Vec<u8> {
    let db = fjall::Database::builder(dir).open().unwrap();
    let ks = db.keyspace(keyspace, fjall::KeyspaceCreateOptions::default).unwrap();
    ks.get(key).unwrap().unwrap().to_vec()
}

#[test]
fn a_version_1_client_survives_reopen_and_is_rewritten_in_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_700_000_100);
    {
        let store = open(dir.path(), &clock);
        wait(store.put_tenant(&tenant("acme"))).unwrap();
        wait(store.put_client(&client("acme", "new"))).unwrap();
    }
    write_raw(dir.path(), "clients", b"acme\0web", &unhex(CLIENT_V1));

    {
        let store = open(dir.path(), &clock);
        assert_eq!(*wait(store.client("acme", "web")).unwrap().unwrap(), old_client());
        let mut all: Vec<Client> = wait(store.clients("acme")).unwrap();
        all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        assert_eq!(all, [client("acme", "new"), old_client()]);
        // Reading does not rewrite it.
        drop(store);
        assert_eq!(raw_value(dir.path(), "clients", b"acme\0web"), unhex(CLIENT_V1));
    }
    {
        let store = open(dir.path(), &clock);
        let opted_in = Client { pkce_plain_allowed: true, ..old_client() };
        wait(store.put_client(&opted_in)).unwrap();
    }
    assert_eq!(raw_value(dir.path(), "clients", b"acme\0web")[0], 4, "the current format of clients");
    let store = open(dir.path(), &clock);
    assert!(wait(store.client("acme", "web")).unwrap().unwrap().pkce_plain_allowed);
}
