//! The admin API as an attacker meets it: the key must be long, and a stranger is refused
//! before the server reads a byte of what they send.

mod common;

use std::time::Duration;

use common::{Backend, Options, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn an_admin_key_shorter_than_32_characters_or_not_ascii_is_refused_at_start() {
    let mut short = Options::new(Backend::Software);
    short.env = vec![("TESSERA_ADMIN_KEY".into(), "a".repeat(31))];
    let failure = TestServer::start_failure(short).await;
    assert_eq!(failure.status.and_then(|s| s.code()), Some(1), "{}", failure.stderr);
    assert!(failure.stderr.contains("at least 32"), "says why: {}", failure.stderr);
    assert!(!failure.stderr.contains(&"a".repeat(31)), "never echoes the key: {}", failure.stderr);

    let mut unusable = Options::new(Backend::Software);
    unusable.env = vec![("TESSERA_ADMIN_KEY".into(), "é".repeat(40))];
    let failure = TestServer::start_failure(unusable).await;
    assert!(failure.stderr.contains("visible ASCII"), "no header could carry it: {}", failure.stderr);

    let mut long_enough = Options::new(Backend::Software);
    let key = "k".repeat(32);
    long_enough.env = vec![("TESSERA_ADMIN_KEY".into(), key.clone())];
    let server = TestServer::start_with(long_enough).await;
    let listed = server
        .send(reqwest::Method::GET, "/api/v1/tenants", &[("authorization", &format!("Bearer {key}"))], None)
        .await;
    listed.expect_status(200, "32 characters are enough");
}

#[tokio::test]
async fn a_stranger_is_refused_before_the_body_is_read() {
    // A server that would wait an hour for a body: only not reading it answers in time.
    let mut options = Options::new(Backend::Software);
    options.extra_args = vec!["--body-read-timeout-secs".into(), "3600".into()];
    let server = TestServer::start_with(options).await;
    for auth in ["", "Authorization: Bearer not-the-admin-key-but-long-enough-0123\r\n"] {
        let mut conn = TcpStream::connect(server.addr).await.expect("connect");
        let head = format!(
            "POST /api/v1/tenants HTTP/1.1\r\nHost: t\r\n{auth}Content-Type: application/json\r\n\
             Content-Length: 1000000\r\n\r\n{{\"id\":"
        );
        conn.write_all(head.as_bytes()).await.expect("send the head and a few bytes");
        // The rest of the body never comes: an answer now means the body was not waited for.
        let mut answer = vec![0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(60), conn.read(&mut answer))
            .await
            .expect("answered without waiting for the body")
            .expect("read");
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(answer.starts_with("HTTP/1.1 401"), "{auth:?}: {answer}");
    }
    server.assert_alive();
}

/// `.` and `..` are path segments that URLs normalise away: a tenant `..` would have the issuer
/// `{public_url}/t/..`, which a browser or HTTP library reads as `{public_url}/`. Ids made only
/// of dots are refused for tenants and clients; dots inside an id are fine.
#[tokio::test]
async fn ids_made_only_of_dots_are_refused() {
    let server = TestServer::start(Backend::Software).await;
    for id in [".", "..", "..."] {
        let reply =
            server.admin(reqwest::Method::POST, "/tenants", Some(serde_json::json!({ "id": id }))).await;
        reply.expect_status(400, &format!("tenant {id:?}"));
        assert!(reply.text.contains("not only dots"), "{}", reply.text);
        let client = serde_json::json!({ "client_id": id, "grant_types": ["client_credentials"] });
        let reply = server.admin(reqwest::Method::POST, "/tenants/default/clients", Some(client)).await;
        reply.expect_status(400, &format!("client {id:?}"));
        assert_eq!(reply.json["error"], "invalid_client_metadata", "{}", reply.text);
    }
    let listed = server.admin(reqwest::Method::GET, "/tenants", None).await;
    assert_eq!(listed.json["tenants"].as_array().map(Vec::len), Some(1), "only default: {}", listed.text);
    server
        .admin(reqwest::Method::POST, "/tenants", Some(serde_json::json!({ "id": "a.b" })))
        .await
        .expect_status(201, "a dot inside");
    server
        .admin(reqwest::Method::POST, "/tenants", Some(serde_json::json!({ "id": ".well" })))
        .await
        .expect_status(201, "a leading dot and more");
}
