//! Bounds on password work and on sign-in attempts, against the real binary. Every argon2id
//! check and hash goes through one gate of `--max-concurrent-password-checks` slots: beyond
//! them, and beyond a wait of `--password-check-max-wait-ms`, the login form answers 503 with
//! `Retry-After`, and so does the admin API. The strict per-username limit counts attempts from
//! one address, so wrong passwords from one address lock nobody out elsewhere; across addresses
//! an account is slowed, never refused.
//!
//! Nothing here depends on timing. Overlap is forced by the configuration (one slot, no
//! waiting, dozens of requests sent at once); sequential requests each end before the next
//! starts, so they never compete for a slot. The sign-in limits are set to one attempt per
//! username per address a minute, so a refusal never waits on how fast argon2id runs, and
//! whatever holds only within that minute is asserted only when the minute has not passed.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{Backend, EndUser, Options, Reply, TestServer, join_all, redirect_params};
use reqwest::Method;
use serde_json::json;

const TENANT: &str = "acme";
const CB: &str = "https://app.example/cb";
const PASSWORD: &str = "correct horse battery";
/// What the login page says when the password gate is full.
const BUSY: &str = "The service is busy. Try again in a moment.";
/// What the login page says when a rate limit refuses.
const TOO_MANY: &str = "Too many sign-in attempts. Wait a minute and try again.";
/// Requests sent at once to overflow a single password slot.
const PARALLEL: u8 = 32;

/// A server started with `flags`, tenant `acme` with user `alice`, and a first-party code-flow
/// client (no consent page: a right password redirects at once); returns the client id.
async fn setup(flags: &[&str]) -> (TestServer, String) {
    let mut options = Options::new(Backend::Software);
    options.extra_args = flags.iter().map(|f| (*f).to_owned()).collect();
    let server = TestServer::start_with(options).await;
    server.create_tenant(TENANT, json!({})).await;
    server.create_user(TENANT, json!({ "username": "alice", "password": PASSWORD })).await;
    let (id, _) = server
        .create_client(
            TENANT,
            json!({
                "grant_types": ["authorization_code"],
                "redirect_uris": [CB],
                "scope": "openid profile",
                "first_party": true,
            }),
        )
        .await;
    (server, id)
}

/// 127.0.0.`host`.
fn loopback(host: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, host])
}

/// A browser at 127.0.0.`host`, and the login page of a fresh authorization request.
async fn at_login_page<'s>(server: &'s TestServer, client_id: &str, host: u8) -> (EndUser<'s>, Reply) {
    let mut agent = EndUser::from_address(server, TENANT, loopback(host));
    let page = agent.authorize(&common::code_request(client_id, CB, &[])).await;
    common::expect_login_page(&page, &format!("login page at 127.0.0.{host}"));
    (agent, page)
}

/// Asserts the login form sent back because the password gate was full: the page again, with
/// status 503, the message and `Retry-After: 1`.
#[track_caller]
fn expect_busy_page(reply: &Reply, what: &str) {
    common::expect_page(reply, 503, what);
    assert!(reply.text.contains(BUSY), "{what}: {}", reply.text);
    assert!(reply.text.contains("id=\"password\""), "{what}: the form to try again: {}", reply.text);
    assert_eq!(reply.header("retry-after"), Some("1"), "{what}");
}

/// Asserts the login form sent back for a wrong password.
#[track_caller]
fn expect_incorrect(reply: &Reply, what: &str) {
    common::expect_page(reply, 200, what);
    assert!(reply.text.contains("The username or password is incorrect."), "{what}: {}", reply.text);
}

/// Asserts a sign-in: the redirect back to the client with a code.
#[track_caller]
fn expect_signed_in(reply: &Reply, what: &str) {
    let params = redirect_params(reply, CB, what);
    assert!(params.get("code").is_some_and(|c| !c.is_empty()), "{what}: {params:?}");
}

/// Wrong passwords from `PARALLEL` addresses at once, each from its own login page; returns the
/// answers.
async fn parallel_wrong_logins(server: &TestServer, client_id: &str) -> Vec<Reply> {
    let mut agents = Vec::new();
    for host in 10..10 + PARALLEL {
        agents.push(at_login_page(server, client_id, host).await);
    }
    join_all(agents.iter_mut().map(|(agent, page)| agent.login(page, "alice", "wrong password")).collect())
        .await
}

#[tokio::test]
async fn logins_beyond_the_password_slots_get_the_form_again_with_503_and_retry_after() {
    let (server, id) =
        setup(&["--max-concurrent-password-checks", "1", "--password-check-max-wait-ms", "0"]).await;
    let replies = parallel_wrong_logins(&server, &id).await;
    let busy = replies.iter().filter(|r| r.status.as_u16() == 503).count();
    for (i, reply) in replies.iter().enumerate() {
        match reply.status.as_u16() {
            503 => expect_busy_page(reply, &format!("login {i}")),
            _ => expect_incorrect(reply, &format!("login {i}")),
        }
    }
    assert!(busy >= 1, "{PARALLEL} logins at once with one slot and no waiting: some must be refused");
    assert!(busy < replies.len(), "the slot is used: at least one login is checked");

    // One at a time, every check gets the slot: wrong passwords are wrong, the right one signs in.
    for host in [60, 61, 62] {
        let (mut agent, page) = at_login_page(&server, &id, host).await;
        expect_incorrect(&agent.login(&page, "alice", "wrong password").await, "sequential wrong");
        expect_signed_in(&agent.login(&page, "alice", PASSWORD).await, "sequential right");
    }
    server.assert_alive();
}

#[tokio::test]
async fn logins_wait_for_a_slot_within_the_queue() {
    // One slot, and a wait far longer than PARALLEL checks take: everyone is served in turn.
    let (server, id) =
        setup(&["--max-concurrent-password-checks", "1", "--password-check-max-wait-ms", "120000"]).await;
    for (i, reply) in parallel_wrong_logins(&server, &id).await.iter().enumerate() {
        expect_incorrect(reply, &format!("login {i} waited for the slot"));
    }
}

#[tokio::test]
async fn admin_hashing_shares_the_gate_with_logins() {
    let (server, id) =
        setup(&["--max-concurrent-password-checks", "1", "--password-check-max-wait-ms", "0"]).await;
    let mut agents = Vec::new();
    for host in 10..10 + PARALLEL {
        agents.push(at_login_page(&server, &id, host).await);
    }
    // Logins and user creations at once. (The admin API makes its writes one at a time, so
    // its hashes compete with the logins, not with each other; that a full gate refuses a hash
    // is `admin::users`'s unit test.)
    let path = format!("/tenants/{TENANT}/users");
    let logins = join_all(
        agents.iter_mut().map(|(agent, page)| agent.login(page, "alice", "wrong password")).collect(),
    );
    let creates = join_all(
        (0..8)
            .map(|n| {
                server.admin(
                    Method::POST,
                    &path,
                    Some(json!({ "username": format!("user{n}"), "password": PASSWORD })),
                )
            })
            .collect(),
    );
    let (logins, creates) = tokio::join!(logins, creates);
    let mut busy = 0;
    for reply in &logins {
        if reply.status.as_u16() == 503 {
            expect_busy_page(reply, "login refused");
            busy += 1;
        } else {
            expect_incorrect(reply, "login checked");
        }
    }
    for reply in &creates {
        if reply.status.as_u16() == 503 {
            reply.expect_api_error(503, Some("temporarily_unavailable"), "hash refused");
            assert_eq!(reply.header("retry-after"), Some("1"));
            busy += 1;
        } else {
            reply.expect_status(201, "hashed");
        }
    }
    assert!(busy >= 1, "{PARALLEL} logins and 8 hashes at once with one slot and no waiting");
    // One at a time, every hash gets the slot.
    for name in ["late1", "late2"] {
        let body = json!({ "username": name, "password": PASSWORD });
        server.admin(Method::POST, &path, Some(body)).await.expect_status(201, "sequential create");
    }
}

#[tokio::test]
async fn wrong_passwords_from_one_address_do_not_lock_the_user_out_elsewhere() {
    // One attempt per username per address per minute: the attacker's first wrong password
    // uses up its minute, so the refusals below do not wait on how fast passwords are checked.
    // (With the default of ten, they assumed ten argon2id checks within the six seconds in
    // which the quota earns one more attempt.)
    let (server, id) = setup(&["--login-attempts-per-user-per-minute", "1"]).await;
    let (mut attacker, page) = at_login_page(&server, &id, 2).await;
    let started = Instant::now();
    expect_incorrect(&attacker.login(&page, "alice", "wrong password").await, "attempt 1");
    for i in 2..=6 {
        let reply = attacker.login(&page, "alice", "wrong password").await;
        if must_still_refuse(started) {
            common::expect_page(&reply, 429, &format!("attempt {i}"));
            assert!(reply.text.contains(TOO_MANY), "{}", reply.text);
            // One a minute: the next one within the minute.
            let retry: u32 = reply.header("retry-after").expect("Retry-After").parse().expect("seconds");
            assert!((1..=60).contains(&retry), "Retry-After {retry}");
        }
    }

    // The real alice, from another address, signs in.
    let (mut alice, page) = at_login_page(&server, &id, 3).await;
    expect_signed_in(&alice.login(&page, "ALICE", PASSWORD).await, "alice from 127.0.0.3");
    assert!(alice.has_session());

    // The limited address stays limited, whatever the password.
    let page = page_of(&mut attacker, &id).await;
    let reply = attacker.login(&page, "alice", PASSWORD).await;
    if must_still_refuse(started) {
        common::expect_page(&reply, 429, "the right password from the limited address");
        assert!(!attacker.has_session());
    }
}

/// Whether a limit of one attempt a minute, whose attempt was counted after `started`, must
/// still refuse an attempt whose answer has just arrived: the attempt was checked less than a
/// minute after the counted one. On a machine so slow that a minute has passed, the refusal
/// is not asserted: the test then checks less, but never fails for being slow.
fn must_still_refuse(started: Instant) -> bool {
    started.elapsed() < Duration::from_secs(60)
}

/// A fresh login page for `agent`.
async fn page_of(agent: &mut EndUser<'_>, client_id: &str) -> Reply {
    agent.authorize(&common::code_request(client_id, CB, &[])).await
}

#[tokio::test]
async fn an_account_guessed_from_many_addresses_is_slowed_never_refused() {
    // One attempt per username per address per minute; across addresses, 3 failures a minute
    // go unslowed.
    let (server, id) = setup(&["--login-attempts-per-user-per-minute", "1"]).await;
    let started = Instant::now();
    for host in 20..26 {
        let (mut agent, page) = at_login_page(&server, &id, host).await;
        let reply = agent.login(&page, "alice", "wrong password").await;
        expect_incorrect(&reply, &format!("one guess from 127.0.0.{host}"));
    }
    // Six failures, three over: alice's own attempt waits a moment, and goes through.
    let (mut alice, page) = at_login_page(&server, &id, 30).await;
    expect_signed_in(&alice.login(&page, "alice", PASSWORD).await, "alice, slowed, not refused");
    // Three of the six failures drain a minute, so the debt is still over the allowance if
    // alice's attempt came within a minute of the first guess; on a slower machine it may not
    // be, and the wait is not asserted.
    if started.elapsed() >= Duration::from_secs(60) {
        return;
    }
    // The server logged the wait before it answered; its log is read by another thread.
    let logged = async {
        while !server.stderr().contains("login attempt slowed") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), logged).await.expect("the wait is logged");
}
