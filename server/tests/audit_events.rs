//! Audit events on the real binary (issue 9 item 7): admin changes, sign-ins, token-endpoint
//! failures and revocations are recorded with who, what, when, from where and how it ended;
//! `GET .../events` filters them by type, actor and time and pages through them with a cursor;
//! its errors (400, 401, 404); tenants see only their own events; the retention setting is
//! validated and kept across a restart; and no event ever holds a secret, password or token.
//!
//! Events reach the store without the request waiting for them, so a test reads them back
//! with [`events_until`], which asks again until what it waits for is there.

mod common;

use common::{Backend, Client, EndUser, Options, TestServer, code_request, is_login_page};
use reqwest::Method;
use serde_json::{Value, json};

const TENANT: &str = "acme";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PASSWORD: &str = "correct horse battery staple";

async fn server() -> TestServer {
    let mut options = Options::new(Backend::Software);
    options.extra_args = vec!["--login-attempts-per-ip-per-minute".into(), "1000".into()];
    let server = TestServer::start_with(options).await;
    server.create_tenant(TENANT, Value::Null).await;
    server
}

/// `GET /api/v1/tenants/{tenant}/events?{query}`.
async fn list(server: &TestServer, tenant: &str, query: &str) -> common::Reply {
    server.admin(Method::GET, &format!("/tenants/{tenant}/events?{query}"), None).await
}

/// The events of `tenant` matching `query` once `done` holds of them (asked again until it
/// does: events are recorded without the request waiting for them).
async fn events_until(
    server: &TestServer,
    tenant: &str,
    query: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..500 {
        let reply = list(server, tenant, query).await;
        reply.expect_status(200, "list events");
        last = reply.json["events"].as_array().cloned().unwrap_or_default();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("events of {tenant} for {query:?} never became what was expected: {last:#?}");
}

fn of_type<'e>(events: &'e [Value], kind: &str) -> Vec<&'e Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// A first-party client that signs users in and gets tokens for itself.
async fn app(server: &TestServer) -> Client {
    let body = json!({
        "grant_types": ["authorization_code", "client_credentials"],
        "redirect_uris": [REDIRECT],
        "scope": "openid read",
        "first_party": true,
    });
    Client::new(TENANT, server.create_client(TENANT, body).await, REDIRECT)
}

async fn user(server: &TestServer, username: &str) -> String {
    let body = json!({ "username": username, "password": PASSWORD });
    server.create_user(TENANT, body).await["id"].as_str().expect("user id").to_owned()
}

#[tokio::test]
async fn admin_changes_are_recorded_with_who_what_where_and_the_status() {
    let server = server().await;
    let (client_id, _) = server.create_client(TENANT, json!({ "grant_types": ["client_credentials"] })).await;
    server.put_settings(TENANT, json!({ "audit_retention_days": 30 })).await;
    server
        .admin(Method::DELETE, &format!("/tenants/{TENANT}/users/nobody"), None)
        .await
        .expect_status(404, "no user");
    server.admin(Method::GET, &format!("/tenants/{TENANT}/users"), None).await.expect_status(200, "a read");

    let events = events_until(&server, TENANT, "type=admin.change", |e| e.len() >= 4).await;
    let summary: Vec<(String, String, String, String)> = events
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("action"), s("target"), s("outcome"), s("reason"))
        })
        .collect();
    let expected =
        |a: &str, t: &str, o: &str, r: &str| (a.to_owned(), t.to_owned(), o.to_owned(), r.to_owned());
    assert_eq!(
        summary,
        [
            expected("DELETE", "users/nobody", "failure", "404"),
            expected("PUT", "settings", "success", "200"),
            expected("POST", "clients", "success", "201"),
            expected("POST", "tenant", "success", "201"),
        ],
        "newest first, reads not recorded"
    );
    for e in &events {
        assert_eq!(e["actor"], json!({ "kind": "admin_key" }));
        assert_eq!(e["source"], "127.0.0.1");
        assert_eq!(e["tenant"], TENANT);
        assert!(e["at"].as_i64().is_some_and(|at| at > 1_700_000_000), "{e}");
        assert!(e["id"].as_str().is_some_and(|id| id.len() == 26), "{e}");
    }
    // The client's id is in no event of its creation (it is in the answer, not the request).
    assert!(!client_id.is_empty());
    // A request for a tenant that does not exist is recorded nowhere.
    server
        .admin(Method::PUT, "/tenants/ghost/settings", Some(json!({})))
        .await
        .expect_status(404, "no tenant");
    list(&server, "ghost", "").await.expect_api_error(404, Some("not_found"), "no tenant");
}

#[tokio::test]
async fn sign_ins_are_recorded_by_user_id_and_nothing_typed_is_kept() {
    let server = server().await;
    let client = app(&server).await;
    let user_id = user(&server, "alice").await;
    let (_, challenge) = common::pkce_pair();
    let request = code_request(
        &client.id,
        REDIRECT,
        &[("scope", "openid"), ("code_challenge", &challenge), ("code_challenge_method", "S256")],
    );

    // A wrong password, a password typed into the username field, then the right one.
    let mut browser = EndUser::new(&server, TENANT);
    let page = browser.authorize(&request).await;
    assert!(is_login_page(&page), "the login page: {page:?}");
    let reply = browser.login(&page, "alice", "not the password").await;
    assert!(is_login_page(&reply), "a wrong password shows the form again");
    let page = browser.authorize(&request).await;
    browser.login(&page, PASSWORD, PASSWORD).await;
    browser.sign_in(&request, "alice", PASSWORD).await;

    let events = events_until(&server, TENANT, "", |e| of_type(e, "login.success").len() == 1).await;
    let failures = of_type(&events, "login.failure");
    assert_eq!(failures.len(), 2, "{events:#?}");
    let unknown = failures[0];
    assert_eq!(unknown["actor"], json!({ "kind": "anonymous" }));
    assert_eq!((unknown["reason"].as_str(), unknown["target"].as_str()), (Some("unknown_user"), Some("")));
    let wrong = failures[1];
    assert_eq!(wrong["actor"], json!({ "kind": "end_user", "sub": user_id }));
    assert_eq!(wrong["reason"], "wrong_password");
    let success = of_type(&events, "login.success")[0];
    assert_eq!(success["actor"], json!({ "kind": "end_user", "sub": user_id }));
    assert_eq!(
        (success["target"].as_str(), success["outcome"].as_str()),
        (Some(format!("users/{user_id}").as_str()), Some("success"))
    );
    assert_eq!(success["source"], "127.0.0.1");

    let text = list(&server, TENANT, "").await.text;
    assert!(!text.contains(PASSWORD), "no password, not even one typed as a username: {text}");
    assert!(!text.contains("not the password"));
    assert!(!text.contains("alice"), "the username typed is not kept, only the user's id");

    let by_user = events_until(&server, TENANT, &format!("actor=end_user:{user_id}"), |e| e.len() == 2).await;
    assert!(by_user.iter().all(|e| e["actor"]["sub"] == user_id.as_str()));
}

#[tokio::test]
async fn token_failures_name_the_client_and_the_error_code_and_no_secret() {
    let server = server().await;
    let (id, secret) = server.cc_client(TENANT, "read").await;
    let token = server.cc_token(TENANT, &id, &secret).await;
    server.token_basic(TENANT, &id, "wrong-secret", &[("grant_type", "client_credentials")]).await;
    server
        .token_basic(TENANT, &id, &secret, &[("grant_type", "client_credentials"), ("scope", "admin")])
        .await
        .expect_oauth_error(400, "invalid_scope", "a scope the client may not have");

    let events = events_until(&server, TENANT, "type=token.failure", |e| e.len() == 2).await;
    let (scope, auth) = (&events[0], &events[1]);
    assert_eq!(scope["actor"], json!({ "kind": "client", "client_id": id }));
    assert_eq!(
        (scope["action"].as_str(), scope["reason"].as_str()),
        (Some("client_credentials"), Some("invalid_scope"))
    );
    assert_eq!(scope["outcome"], "failure");
    assert_eq!(auth["actor"], json!({ "kind": "anonymous" }), "it did not authenticate");
    assert_eq!(auth["target"], format!("clients/{id}"), "the client it claimed to be");
    assert_eq!(auth["reason"], "invalid_client");

    let all = events_until(&server, TENANT, "", |e| e.len() == 4).await;
    assert_eq!(
        of_type(&all, "admin.change").len(),
        2,
        "the tenant and the client; a token issued is no event"
    );
    let text = list(&server, TENANT, "").await.text;
    for secret in [secret.as_str(), "wrong-secret", token.as_str()] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn revocations_by_clients_and_operators_are_recorded() {
    let server = server().await;
    let (id, secret) = server.cc_client(TENANT, "read").await;
    let first = server.cc_token(TENANT, &id, &secret).await;
    server.revoke(TENANT, &id, &secret, &first).await.expect_status(200, "revoke");
    let second = server.cc_token(TENANT, &id, &secret).await;
    server.operator_revoke(TENANT, &second).await;
    server.revoke_all(TENANT, "clients", &id).await;

    let events = events_until(&server, TENANT, "type=token.revoked", |e| e.len() == 3).await;
    let by_what: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["actor"]["kind"].as_str().unwrap_or_default(),
                e["action"].as_str().unwrap_or_default(),
                e["target"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let all_client = format!("clients/{id}/revoke-all");
    assert_eq!(
        by_what,
        [
            ("admin_key", "POST", all_client.as_str()),
            ("admin_key", "POST", "tokens/revoke"),
            ("client", "revoke", "token")
        ]
    );
    assert_eq!(events[2]["actor"]["client_id"], id.as_str());
    let text = list(&server, TENANT, "").await.text;
    assert!(!text.contains(&first) && !text.contains(&second), "no token in an event");
}

#[tokio::test]
async fn filters_and_cursor_pages_meet_each_event_once() {
    let server = server().await;
    for n in 0..7 {
        server.put_settings(TENANT, json!({ "code_ttl_secs": 30 + n })).await;
    }
    let (id, secret) = server.cc_client(TENANT, "read").await;
    server.token_basic(TENANT, &id, "wrong", &[("grant_type", "client_credentials")]).await;
    let all = events_until(&server, TENANT, "limit=200", |e| e.len() == 10).await;
    let ids: Vec<&str> = all.iter().filter_map(|e| e["id"].as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "newest first");

    // Pages of three, following `next`, meet every event once and end with `null`.
    let mut met = Vec::new();
    let mut query = "limit=3".to_owned();
    for _ in 0..10 {
        let reply = list(&server, TENANT, &query).await;
        reply.expect_status(200, "a page");
        let page = reply.json["events"].as_array().cloned().unwrap_or_default();
        assert!(page.len() <= 3);
        met.extend(page.iter().filter_map(|e| e["id"].as_str().map(str::to_owned)));
        match reply.json["next"].as_str() {
            Some(cursor) => query = format!("limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(met, ids, "each event once, in order");

    let anonymous = events_until(&server, TENANT, "actor=anonymous", |e| !e.is_empty()).await;
    assert_eq!(anonymous.len(), 1);
    assert_eq!(anonymous[0]["type"], "token.failure");
    let admin = events_until(&server, TENANT, "type=admin.change&actor=admin_key", |e| !e.is_empty()).await;
    assert_eq!(admin.len(), 9, "the tenant, seven settings and the client");
    assert!(events_until(&server, TENANT, "actor=client:other", |_| true).await.is_empty());

    // A time range: everything is in [first, last], nothing before the first second.
    let first = all.last().and_then(|e| e["at"].as_i64()).expect("at");
    let last = all[0]["at"].as_i64().expect("at");
    let within = events_until(&server, TENANT, &format!("since={first}&until={}", last + 1), |_| true).await;
    assert_eq!(within.len(), 10);
    assert!(events_until(&server, TENANT, &format!("until={first}"), |_| true).await.is_empty());
    assert!(events_until(&server, TENANT, &format!("since={}", last + 1), |_| true).await.is_empty());
    assert!(!secret.is_empty());
}

#[tokio::test]
async fn listing_errors_are_400_401_and_404() {
    let server = server().await;
    for bad in [
        "type=nope",
        "actor=root",
        "actor=admin_key:x",
        "since=yesterday",
        "since=20&until=10",
        "limit=0",
        "limit=201",
        "cursor=forged",
        "sort=asc",
        "type=login.success&type=login.failure",
    ] {
        list(&server, TENANT, bad).await.expect_api_error(400, Some("invalid_request"), bad);
    }
    // Another listing's cursor is refused too.
    server.create_user(TENANT, json!({ "username": "a", "password": PASSWORD })).await;
    server.create_user(TENANT, json!({ "username": "b", "password": PASSWORD })).await;
    let users = server.admin(Method::GET, &format!("/tenants/{TENANT}/users?limit=1"), None).await;
    let cursor = users.json["next"].as_str().expect("a users cursor").to_owned();
    list(&server, TENANT, &format!("cursor={cursor}")).await.expect_api_error(
        400,
        Some("invalid_request"),
        "users cursor",
    );

    list(&server, "ghost", "").await.expect_api_error(404, Some("not_found"), "unknown tenant");
    let anonymous = server.send(Method::GET, &format!("/api/v1/tenants/{TENANT}/events"), &[], None).await;
    anonymous.expect_api_error(401, Some("unauthorized"), "no admin key");
    let wrong = server
        .send(
            Method::GET,
            &format!("/api/v1/tenants/{TENANT}/events"),
            &[("authorization", "Bearer nope")],
            None,
        )
        .await;
    wrong.expect_api_error(401, Some("unauthorized"), "a wrong admin key");
    let post = server.admin(Method::POST, &format!("/tenants/{TENANT}/events"), Some(json!({}))).await;
    post.expect_status(405, "events are read only");
}

#[tokio::test]
async fn a_tenant_sees_only_its_own_events() {
    let server = server().await;
    server.create_tenant("other", Value::Null).await;
    server.put_settings("other", json!({ "code_ttl_secs": 45 })).await;
    let (id, _) = server.cc_client(TENANT, "read").await;
    server.token_basic(TENANT, &id, "wrong", &[("grant_type", "client_credentials")]).await;
    let ours = events_until(&server, TENANT, "", |e| !of_type(e, "token.failure").is_empty()).await;
    let theirs = events_until(&server, "other", "", |e| e.len() == 2).await;
    assert!(ours.iter().all(|e| e["tenant"] == TENANT));
    assert!(theirs.iter().all(|e| e["tenant"] == "other"));
    assert!(theirs.iter().all(|e| e["type"] == "admin.change"), "{theirs:#?}");
    // A cursor of one tenant's listing walks only that tenant, wherever it is used.
    let cursor =
        list(&server, TENANT, "limit=1").await.json["next"].as_str().map(str::to_owned).expect("more");
    let elsewhere = list(&server, "other", &format!("cursor={cursor}")).await;
    elsewhere.expect_status(200, "a cursor is only a position");
    let ids: Vec<&Value> =
        elsewhere.json["events"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    assert!(ids.iter().all(|e| e["tenant"] == "other"));
}

#[tokio::test]
async fn the_retention_setting_is_validated_and_kept() {
    let mut server = server().await;
    assert_eq!(server.get_settings(TENANT).await["audit_retention_days"], 90, "the default");
    for bad in [0, 3651] {
        let reply = server
            .admin(
                Method::PUT,
                &format!("/tenants/{TENANT}/settings"),
                Some(json!({ "audit_retention_days": bad })),
            )
            .await;
        reply.expect_api_error(400, Some("invalid_request"), &format!("{bad} days"));
    }
    let reply = server
        .admin(
            Method::PUT,
            &format!("/tenants/{TENANT}/settings"),
            Some(json!({ "audit_retention_days": "7" })),
        )
        .await;
    reply.expect_status(400, "a number");
    assert_eq!(
        server.put_settings(TENANT, json!({ "audit_retention_days": 7 })).await["audit_retention_days"],
        7
    );
    let patched = server
        .admin(
            Method::PATCH,
            &format!("/tenants/{TENANT}"),
            Some(json!({ "settings": { "audit_retention_days": 3650 } })),
        )
        .await;
    patched.expect_status(200, "patch");
    assert_eq!(patched.json["settings"]["audit_retention_days"], 3650);
    // The tenant's creation, three refused changes, the PUT and the PATCH.
    let before = events_until(&server, TENANT, "", |e| e.len() == 6).await;
    assert_eq!(of_type(&before, "admin.change").iter().filter(|e| e["reason"] == "400").count(), 3);
    // A clean shutdown makes the events waiting for an fsync durable.
    server.terminate().await;
    server.restart().await;
    assert_eq!(server.get_settings(TENANT).await["audit_retention_days"], 3650, "kept across a restart");
    let after = events_until(&server, TENANT, "", |e| !e.is_empty()).await;
    assert_eq!(after, before, "the same events; reads are not recorded");
}

#[tokio::test]
async fn metrics_count_recorded_events() {
    let server = server().await;
    events_until(&server, TENANT, "", |e| e.len() == 1).await;
    let text = server.get("/metrics").await.text;
    let recorded = text
        .lines()
        .find_map(|l| l.strip_prefix("tessera_audit_events_recorded_total "))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("the counter");
    assert!(recorded >= 1, "{text}");
    assert!(text.contains("tessera_audit_events_dropped_total{reason=\"store_busy\"} 0"), "{text}");
    assert!(text.contains("tessera_audit_events_dropped_total{reason=\"rate_limited\"} 0"), "{text}");
}
