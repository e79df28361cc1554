//! Federated identity links (`FederationStore`): one link per (tenant, identity provider,
//! upstream subject), created only where none is (atomically: exactly one of concurrent creates
//! lands, the others are told the winner), kept apart by tenant and by identity provider,
//! listed per user, deleted alone, with their user and with their tenant, and durable. Any
//! printable subject is kept as sent; invalid links are refused and impossible ids read as
//! absent.

use std::sync::Arc;

use tessera_core::model::FederatedLink;
use tessera_core::store::{FederationStore, Store, TenantStore, UserStore};

use crate::Harness;
use crate::fixtures::{link, ok, tenant, user};
use crate::harness::open_at;

/// Identity provider ids, as the admin API makes them (22 base64url characters).
const IDP_A: &str = "AAAAAAAAAAAAAAAAAAAAAA";
const IDP_B: &str = "BBBBBBBBBBBBBBBBBBBBBB";

/// Creates `l`, which the case expects to be new.
async fn create(store: &impl Store, l: &FederatedLink) {
    assert_eq!(store.create_federated_link(l).await, Ok(None), "create {l:?}");
}

async fn find(store: &impl Store, t: &str, idp: &str, subject: &str) -> Option<FederatedLink> {
    store.federated_link(t, idp, subject).await.expect("read a federated link")
}

async fn links_of(store: &impl Store, t: &str, user_id: &str) -> Vec<FederatedLink> {
    store.federated_links_of_user(t, user_id).await.expect("list a user's links")
}

/// In tenant `t`: users u1, u2 and u10 (an id extending u1's); u1 linked at both identity
/// providers, u2 and u10 at one each.
async fn fill(store: &impl Store, t: &str) {
    ok(store.put_tenant(&tenant(t)), "put tenant").await;
    for u in ["u1", "u2", "u10"] {
        ok(store.put_user(&user(t, u, u, None)), "put user").await;
    }
    create(store, &link(t, IDP_A, "alice-at-a", "u1")).await;
    create(store, &link(t, IDP_B, "alice-at-b", "u1")).await;
    create(store, &link(t, IDP_A, "bob-at-a", "u2")).await;
    create(store, &link(t, IDP_A, "carol-at-a", "u10")).await;
}

pub(crate) async fn links_round_trip_and_an_absent_link_is_none(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "put tenant").await;
    assert_eq!(find(&*store, "acme", IDP_A, "248289761001").await, None);
    // Upstream subjects are whatever the provider sends, up to 255 bytes.
    let longest = "é".repeat(127) + "x";
    for subject in [
        "248289761001",
        "auth0|5f7c8ec7c33c6c004bbafe82",
        "https://idp.example/u/1:x",
        "Jürgen 名前",
        &longest,
    ] {
        let l = link("acme", IDP_A, subject, "u1");
        create(&*store, &l).await;
        assert_eq!(find(&*store, "acme", IDP_A, subject).await, Some(l), "{subject:?}");
    }
    // Subjects are compared exactly: not by case, nor as a prefix of another.
    assert_eq!(find(&*store, "acme", IDP_A, "AUTH0|5f7c8ec7c33c6c004bbafe82").await, None);
    assert_eq!(find(&*store, "acme", IDP_A, "24828976100").await, None);
    assert_eq!(find(&*store, "acme", IDP_A, "2482897610011").await, None);
}

pub(crate) async fn tenants_and_identity_providers_are_kept_apart(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "put tenant").await;
    ok(store.put_tenant(&tenant("other")), "put tenant").await;
    // One subject at two identity providers is two upstream accounts.
    let at_a = link("acme", IDP_A, "248289761001", "u1");
    let at_b = link("acme", IDP_B, "248289761001", "u2");
    create(&*store, &at_a).await;
    create(&*store, &at_b).await;
    assert_eq!(find(&*store, "acme", IDP_A, "248289761001").await, Some(at_a));
    assert_eq!(find(&*store, "acme", IDP_B, "248289761001").await, Some(at_b));
    // Another tenant has none, and may hold its own under the same ids.
    assert_eq!(find(&*store, "other", IDP_A, "248289761001").await, None);
    assert_eq!(links_of(&*store, "other", "u1").await, vec![]);
    let theirs = link("other", IDP_A, "248289761001", "u9");
    create(&*store, &theirs).await;
    assert_eq!(find(&*store, "other", IDP_A, "248289761001").await, Some(theirs));
    assert_eq!(links_of(&*store, "acme", "u9").await, vec![]);
}

pub(crate) async fn a_second_create_returns_the_first_and_changes_nothing(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "put tenant").await;
    let first = link("acme", IDP_A, "248289761001", "u1");
    create(&*store, &first).await;
    let second = FederatedLink { created_at: 1_800_000_000, ..link("acme", IDP_A, "248289761001", "u2") };
    assert_eq!(store.create_federated_link(&second).await, Ok(Some(first.clone())));
    assert_eq!(store.create_federated_link(&first).await, Ok(Some(first.clone())), "the same link again");
    assert_eq!(find(&*store, "acme", IDP_A, "248289761001").await, Some(first.clone()));
    assert_eq!(links_of(&*store, "acme", "u1").await, vec![first]);
    assert_eq!(links_of(&*store, "acme", "u2").await, vec![], "the loser holds no link");
}

pub(crate) async fn of_concurrent_creates_exactly_one_is_created(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "put tenant").await;
    for round in 0..4 {
        let subject = format!("racer-{round}");
        let creates: Vec<_> = (0..16)
            .map(|n| {
                let store = Arc::clone(&store);
                // Users of their own each round, so a round's winner holds that round's link only.
                let l = link("acme", IDP_A, &subject, &format!("r{round}u{n}"));
                tokio::spawn(async move { store.create_federated_link(&l).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for created in creates {
            outcomes.push(created.await.expect("the create task ends").expect("a create"));
        }
        assert_eq!(outcomes.iter().filter(|o| o.is_none()).count(), 1, "round {round}: {outcomes:?}");
        let winner = find(&*store, "acme", IDP_A, &subject).await.expect("the winner is stored");
        for outcome in outcomes.into_iter().flatten() {
            assert_eq!(outcome, winner, "round {round}: every loser is told the winner");
        }
        assert_eq!(links_of(&*store, "acme", &winner.user_id).await, vec![winner.clone()], "round {round}");
        for n in 0..16 {
            let loser = format!("r{round}u{n}");
            if loser != winner.user_id {
                assert_eq!(links_of(&*store, "acme", &loser).await, vec![], "round {round}: {loser}");
            }
        }
    }
}

pub(crate) async fn deleting_a_link_removes_it_and_a_create_works_again(h: &impl Harness) {
    let store = open_at(h, 1_000);
    fill(&*store, "acme").await;
    ok(store.delete_federated_link("acme", IDP_A, "alice-at-a"), "delete link").await;
    assert_eq!(find(&*store, "acme", IDP_A, "alice-at-a").await, None);
    assert_eq!(links_of(&*store, "acme", "u1").await, vec![link("acme", IDP_B, "alice-at-b", "u1")]);
    // Deleting what is not there, or what no link can be, succeeds.
    ok(store.delete_federated_link("acme", IDP_A, "alice-at-a"), "delete again").await;
    ok(store.delete_federated_link("acme", IDP_A, "a\0b"), "delete an impossible link").await;
    ok(store.delete_federated_link("a/b", IDP_A, "x"), "delete in an impossible tenant").await;
    // The account may now be linked anew, to anyone.
    let again = link("acme", IDP_A, "alice-at-a", "u2");
    create(&*store, &again).await;
    assert_eq!(find(&*store, "acme", IDP_A, "alice-at-a").await, Some(again.clone()));
    assert_eq!(links_of(&*store, "acme", "u2").await, vec![again, link("acme", IDP_A, "bob-at-a", "u2")]);
    assert_eq!(links_of(&*store, "acme", "u1").await, vec![link("acme", IDP_B, "alice-at-b", "u1")]);
}

pub(crate) async fn deleting_a_user_deletes_its_links_and_no_other(h: &impl Harness) {
    let store = open_at(h, 1_000);
    fill(&*store, "acme").await;
    fill(&*store, "other").await;
    ok(store.delete_user("acme", "u1"), "delete user").await;
    assert_eq!(find(&*store, "acme", IDP_A, "alice-at-a").await, None);
    assert_eq!(find(&*store, "acme", IDP_B, "alice-at-b").await, None);
    assert_eq!(links_of(&*store, "acme", "u1").await, vec![]);
    assert_eq!(links_of(&*store, "acme", "u2").await, vec![link("acme", IDP_A, "bob-at-a", "u2")]);
    assert_eq!(links_of(&*store, "acme", "u10").await, vec![link("acme", IDP_A, "carol-at-a", "u10")]);
    let theirs = vec![link("other", IDP_A, "alice-at-a", "u1"), link("other", IDP_B, "alice-at-b", "u1")];
    assert_eq!(links_of(&*store, "other", "u1").await, theirs, "the same user id in another tenant");
    // The upstream accounts are free: the next login may link them again.
    let again = link("acme", IDP_A, "alice-at-a", "u2");
    create(&*store, &again).await;
    assert_eq!(find(&*store, "acme", IDP_A, "alice-at-a").await, Some(again));
}

pub(crate) async fn deleting_a_tenant_deletes_its_links(h: &impl Harness) {
    let store = open_at(h, 1_000);
    fill(&*store, "acme").await;
    fill(&*store, "other").await;
    ok(store.delete_tenant("acme"), "delete tenant").await;
    for (idp, subject) in [(IDP_A, "alice-at-a"), (IDP_B, "alice-at-b"), (IDP_A, "bob-at-a")] {
        assert_eq!(find(&*store, "acme", idp, subject).await, None, "{subject}");
        assert!(find(&*store, "other", idp, subject).await.is_some(), "other: {subject}");
    }
    for u in ["u1", "u2", "u10"] {
        assert_eq!(links_of(&*store, "acme", u).await, vec![], "{u}");
    }
    // A tenant created again with the id starts without links.
    ok(store.put_tenant(&tenant("acme")), "put tenant again").await;
    assert_eq!(links_of(&*store, "acme", "u1").await, vec![]);
    create(&*store, &link("acme", IDP_A, "alice-at-a", "u7")).await;
}

pub(crate) async fn a_users_links_are_exactly_its_own_in_order(h: &impl Harness) {
    let store = open_at(h, 1_000);
    fill(&*store, "acme").await;
    create(&*store, &link("acme", IDP_A, "alice-second", "u1")).await;
    let expected = vec![
        link("acme", IDP_A, "alice-at-a", "u1"),
        link("acme", IDP_A, "alice-second", "u1"),
        link("acme", IDP_B, "alice-at-b", "u1"),
    ];
    assert_eq!(links_of(&*store, "acme", "u1").await, expected, "by identity provider, then subject");
    assert_eq!(links_of(&*store, "acme", "u2").await, vec![link("acme", IDP_A, "bob-at-a", "u2")]);
    assert_eq!(links_of(&*store, "acme", "u3").await, vec![], "a user without links");
}

pub(crate) async fn links_and_their_deletions_survive_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    fill(&*store, "acme").await;
    let unicode = link("acme", IDP_B, "Jürgen/名前:1", "u2");
    create(&*store, &unicode).await;
    ok(store.delete_federated_link("acme", IDP_A, "bob-at-a"), "delete link").await;
    ok(store.delete_user("acme", "u10"), "delete user").await;
    let store = h.reopen(store);
    assert_eq!(
        find(&*store, "acme", IDP_A, "alice-at-a").await,
        Some(link("acme", IDP_A, "alice-at-a", "u1"))
    );
    assert_eq!(find(&*store, "acme", IDP_B, "Jürgen/名前:1").await, Some(unicode.clone()));
    assert_eq!(links_of(&*store, "acme", "u2").await, vec![unicode]);
    assert_eq!(find(&*store, "acme", IDP_A, "bob-at-a").await, None);
    assert_eq!(links_of(&*store, "acme", "u10").await, vec![]);
    // Still one link per key after reopening.
    let late = link("acme", IDP_A, "alice-at-a", "u2");
    assert_eq!(store.create_federated_link(&late).await, Ok(Some(link("acme", IDP_A, "alice-at-a", "u1"))));
}

pub(crate) async fn invalid_links_are_refused_and_impossible_ids_read_as_absent(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "put tenant").await;
    let good = link("acme", IDP_A, "248289761001", "u1");
    let too_long = "x".repeat(256);
    let bad = [
        FederatedLink { tenant: String::new(), ..good.clone() },
        FederatedLink { tenant: "a/b".into(), ..good.clone() },
        FederatedLink { tenant: "a\0b".into(), ..good.clone() },
        FederatedLink { idp: String::new(), ..good.clone() },
        FederatedLink { idp: "a b".into(), ..good.clone() },
        FederatedLink { idp: "a/b".into(), ..good.clone() },
        FederatedLink { subject: String::new(), ..good.clone() },
        FederatedLink { subject: too_long.clone(), ..good.clone() },
        FederatedLink { subject: "a\nb".into(), ..good.clone() },
        FederatedLink { subject: "a\0b".into(), ..good.clone() },
        FederatedLink { user_id: String::new(), ..good.clone() },
        FederatedLink { user_id: "a/b".into(), ..good.clone() },
        FederatedLink { user_id: "u\0".into(), ..good.clone() },
    ];
    for l in &bad {
        assert!(store.create_federated_link(l).await.is_err(), "{l:?}");
    }
    // Nothing was written: the valid key is free and no user holds a link.
    assert_eq!(find(&*store, "acme", IDP_A, "248289761001").await, None);
    assert_eq!(links_of(&*store, "acme", "u1").await, vec![]);
    for (t, idp, subject) in [
        ("", IDP_A, "s"),
        ("a/b", IDP_A, "s"),
        ("acme\0", IDP_A, "s"),
        ("acme", "", "s"),
        ("acme", "a/b", "s"),
        ("acme", "a\0b", "s"),
        ("acme", IDP_A, ""),
        ("acme", IDP_A, "a\0b"),
        ("acme", IDP_A, "a\nb"),
        ("acme", IDP_A, &too_long),
    ] {
        assert_eq!(store.federated_link(t, idp, subject).await, Ok(None), "{t:?} {idp:?} {subject:?}");
    }
    for (t, u) in [("", "u1"), ("a/b", "u1"), ("acme", ""), ("acme", "a/b"), ("acme", "u1\0")] {
        assert_eq!(store.federated_links_of_user(t, u).await, Ok(vec![]), "{t:?} {u:?}");
    }
}
