//! Starting the real binary with a bad configuration, on a data dir that is in use, or with
//! the wrong signer: each must refuse to start with a failure exit code and a message on stderr,
//! never panic, never serve. Also: a data dir written with SoftHSM2 keys is not silently served
//! with software keys, and serves again once the HSM is configured.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Options, TestServer};
use serde_json::Value;

fn options() -> Options {
    Options::new(Backend::Software)
}

#[tokio::test]
async fn bad_configuration_fails_cleanly() {
    let mut o = options();
    o.public_url = Some("ftp://id.example".into());
    let failure = TestServer::start_failure(o).await;
    assert_eq!(failure.status.unwrap().code(), Some(2), "a configuration error exits with 2");
    assert!(failure.stderr.contains("public URL"), "{}", failure.stderr);

    let mut o = options();
    o.extra_args = vec!["--signer".into(), "pkcs11".into()];
    let failure = TestServer::start_failure(o).await;
    assert_eq!(failure.status.unwrap().code(), Some(2));
    assert!(failure.stderr.contains("pkcs11"), "{}", failure.stderr);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tessera.toml");
    std::fs::write(&config, "listn = \"127.0.0.1:1\"\n").unwrap();
    let mut o = options();
    o.extra_args = vec!["--config".into(), config.display().to_string()];
    let failure = TestServer::start_failure(o).await;
    assert_eq!(failure.status.unwrap().code(), Some(2), "unknown config keys are refused");

    // The data dir is a regular file.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let mut o = options();
    o.data_dir = Some(file);
    TestServer::start_failure(o).await;

    // The port is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut o = options();
    o.listen = Some(taken.local_addr().unwrap());
    let failure = TestServer::start_failure(o).await;
    assert!(!failure.stderr.is_empty(), "a message says why");
}

#[tokio::test]
async fn second_server_on_one_data_dir_is_refused() {
    let first = TestServer::start(Backend::Software).await;
    first.create_tenant("acme", Value::Null).await;
    let mut o = options();
    o.data_dir = Some(first.data_dir());
    TestServer::start_failure(o).await;
    // The first one is unharmed.
    let (id, secret) = first.cc_client("acme", "read").await;
    first.cc_token("acme", &id, &secret).await;
    first.assert_alive();
}

#[tokio::test]
async fn softhsm_misconfiguration_fails_cleanly() {
    if common::skip_softhsm("startup::softhsm_misconfiguration_fails_cleanly") {
        return;
    }
    let mut o = Options::new(Backend::SoftHsm);
    o.env = vec![("TESSERA_PKCS11_PIN".into(), "0000".into())];
    let failure = TestServer::start_failure(o).await;
    assert!(!failure.stderr.contains("0000"), "the PIN is never logged: {}", failure.stderr);

    let mut o = Options::new(Backend::SoftHsm);
    o.pkcs11_label = Some("no-such-token".into());
    let failure = TestServer::start_failure(o).await;
    assert!(failure.stderr.contains("no-such-token"), "the label is named: {}", failure.stderr);

    let mut o = Options::new(Backend::SoftHsm);
    o.pkcs11_module = Some("/nonexistent/libpkcs11.so".into());
    TestServer::start_failure(o).await;
}

#[tokio::test]
async fn hsm_keys_need_the_hsm() {
    if common::skip_softhsm("startup::hsm_keys_need_the_hsm") {
        return;
    }
    let mut server = TestServer::start(Backend::SoftHsm).await;
    server.create_tenant("acme", Value::Null).await;
    let (id, secret) = server.cc_client("acme", "read").await;
    let token = server.cc_token("acme", &id, &secret).await;
    server.options_mut().backend = Backend::Software;
    let failure = server.restart_failure().await;
    assert!(!failure.stderr.is_empty(), "a message says why");
    server.options_mut().backend = Backend::SoftHsm;
    server.restart().await;
    assert!(server.is_active("acme", &id, &secret, &token).await);
    let fresh = server.cc_token("acme", &id, &secret).await;
    assert_eq!(common::jwt_header(&fresh)["kid"], common::jwt_header(&token)["kid"]);
}

/// An `admin-key` file that is empty (a crash between creating it and writing the key on the
/// first start leaves exactly that) must not make the empty string the admin key: the server
/// refuses to start or makes a real key, and an empty bearer key never opens the admin API, over
/// HTTP/1.1 or HTTP/2.
#[tokio::test]
async fn empty_admin_key_file_grants_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for content in ["", " \n"] {
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("admin-key"), content).unwrap();
        let mut o = options();
        o.admin_key = common::AdminKey::Generated;
        o.data_dir = Some(data.clone());
        let Ok(server) = TestServer::try_start(o).await else {
            continue; // Refusing to start is a fine answer.
        };
        for value in ["Bearer ", "Bearer  ", "bearer \t"] {
            let (status, body) = server.h2_get("/api/v1/tenants", &[("authorization", value)]).await;
            assert_eq!(
                status, 401,
                "HTTP/2 `Authorization: {value:?}` with admin-key file {content:?}: {body}"
            );
        }
        let reply =
            server.send(reqwest::Method::GET, "/api/v1/tenants", &[("authorization", "Bearer ")], None).await;
        reply.expect_status(401, "HTTP/1.1 empty bearer key");
        assert!(!server.admin_key.is_empty(), "a real admin key replaces the empty file {content:?}");
    }
}
