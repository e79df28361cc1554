//! The per-client `plain` PKCE opt-in over the admin API and `/authorize`: the Tessera metadata
//! extension `allow_plain_pkce` defaults to false, is set on create and by PATCH, and decides
//! whether `/authorize` takes `code_challenge_method=plain` (a login page) or sends the browser
//! back with `invalid_request` before anyone logs in.

mod common;

use common::{
    Backend, Carrier, EndUser, Reply, TestServer, expect_login_page, redirect_params_in, with_extra,
};
use reqwest::Method;
use serde_json::{Value, json};

const TENANT: &str = "default";
const CB: &str = "https://app.example/cb";
/// RFC 7636 Appendix B's verifier: under `plain` it is also the challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn client_path(id: &str) -> String {
    format!("/tenants/{TENANT}/clients/{id}")
}

/// `GET /t/default/authorize`, from a fresh browser, for a code-flow request of `client_id`
/// with a `plain` challenge.
async fn authorize_plain(server: &TestServer, client_id: &str) -> Reply {
    let extra = [
        ("scope", "openid"),
        ("state", "st 1"),
        ("code_challenge", VERIFIER),
        ("code_challenge_method", "plain"),
    ];
    EndUser::new(server, TENANT).authorize(&common::code_request(client_id, CB, &extra)).await
}

/// Asserts the 303 back to the client with `invalid_request` and the request's `state`
/// (encoded as `st%201` in the query).
#[track_caller]
fn expect_invalid_request_redirect(reply: &Reply, what: &str) {
    let params = redirect_params_in(reply, CB, Carrier::Query, what);
    assert_eq!(params.get("error").map(String::as_str), Some("invalid_request"), "{what}: {params:?}");
    assert_eq!(params.get("state").map(String::as_str), Some("st 1"), "{what}: {params:?}");
    let location = reply.header("location").expect("Location");
    assert!(location.split(['?', '&']).any(|p| p == "state=st%201"), "{what}: {location}");
}

fn public_client(extra: Value) -> Value {
    let body = json!({
        "client_name": "Kiosk",
        "grant_types": ["authorization_code"],
        "token_endpoint_auth_method": "none",
        "redirect_uris": [CB],
        "scope": "openid profile",
        "first_party": true,
    });
    with_extra(body, extra)
}

#[tokio::test]
async fn plain_pkce_is_a_per_client_opt_in() {
    let server = TestServer::start(Backend::Software).await;

    // Default: off, in every view of the client, and /authorize refuses plain.
    let reply = server
        .admin(Method::POST, &format!("/tenants/{TENANT}/clients"), Some(public_client(json!({}))))
        .await;
    reply.expect_status(201, "create");
    assert_eq!(reply.json["allow_plain_pkce"], json!(false), "{}", reply.text);
    let id = reply.json["client_id"].as_str().expect("client_id").to_owned();
    let reply = server.admin(Method::GET, &client_path(&id), None).await;
    assert_eq!(reply.expect_status(200, "get").json["allow_plain_pkce"], json!(false));
    let reply = server.admin(Method::GET, &format!("/tenants/{TENANT}/clients"), None).await;
    let listed = reply.expect_status(200, "list").json["clients"].as_array().expect("clients").clone();
    assert!(listed.iter().all(|c| c["allow_plain_pkce"] == json!(false)), "{listed:?}");
    expect_invalid_request_redirect(&authorize_plain(&server, &id).await, "plain without the opt-in");

    // PATCH turns it on; other metadata is untouched.
    let reply =
        server.admin(Method::PATCH, &client_path(&id), Some(json!({ "allow_plain_pkce": true }))).await;
    assert_eq!(reply.expect_status(200, "patch on").json["allow_plain_pkce"], json!(true));
    assert_eq!(reply.json["first_party"], json!(true));
    assert!(reply.json.get("client_secret").is_none(), "a public client has no secret");
    let reply = server.admin(Method::GET, &client_path(&id), None).await;
    assert_eq!(reply.expect_status(200, "get").json["allow_plain_pkce"], json!(true));
    expect_login_page(&authorize_plain(&server, &id).await, "plain with the opt-in");

    // And off again.
    let reply =
        server.admin(Method::PATCH, &client_path(&id), Some(json!({ "allow_plain_pkce": false }))).await;
    assert_eq!(reply.expect_status(200, "patch off").json["allow_plain_pkce"], json!(false));
    expect_invalid_request_redirect(&authorize_plain(&server, &id).await, "plain after opting out");

    // Set at registration; a value that is not a boolean is refused.
    let body = public_client(json!({ "client_id": "kiosk-2", "allow_plain_pkce": true }));
    let reply = server.admin(Method::POST, &format!("/tenants/{TENANT}/clients"), Some(body)).await;
    assert_eq!(reply.expect_status(201, "create opted in").json["allow_plain_pkce"], json!(true));
    expect_login_page(&authorize_plain(&server, "kiosk-2").await, "opted in at registration");
    let body = public_client(json!({ "allow_plain_pkce": "yes" }));
    let reply = server.admin(Method::POST, &format!("/tenants/{TENANT}/clients"), Some(body)).await;
    // RFC 7591 3.2.2: a metadata value of the wrong type is invalid metadata.
    reply.expect_api_error(400, Some("invalid_client_metadata"), "non-boolean allow_plain_pkce");

    // The opt-in survives a restart (the client record is stored in its new format).
    let mut server = server;
    server.restart().await;
    let reply = server.admin(Method::GET, &format!("/tenants/{TENANT}/clients/kiosk-2"), None).await;
    assert_eq!(reply.expect_status(200, "get after restart").json["allow_plain_pkce"], json!(true));
    expect_login_page(&authorize_plain(&server, "kiosk-2").await, "opted in after restart");
}
