//! Users (`UserStore`): round trips and listing, lookups by username and e-mail regardless of
//! case (Unicode lowercase, no other folding), usernames and e-mail addresses unique per tenant regardless of case (a conflict writes
//! nothing; of concurrent claims exactly one wins), renames and deletion freeing names, and
//! durability of users and their name lookups.

use std::sync::Arc;

use tessera_core::model::User;
use tessera_core::store::{StoreError, UserStore};

use crate::Harness;
use crate::fixtures::{is_conflict, ok, user};
use crate::harness::open_at;

fn usernames(users: Result<Vec<User>, StoreError>) -> Vec<String> {
    users.expect("list users").into_iter().map(|u| u.username).collect()
}

pub(crate) async fn users_round_trip_and_list_by_username(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let bob = user("acme", "id-bob", "bob", Some("bob@example.com"));
    let alice = user("acme", "id-alice", "alice", None);
    let carol = user("acme", "id-0", "carol", None);
    for u in [&bob, &alice, &carol] {
        ok(store.put_user(u), "put user").await;
    }
    assert_eq!(store.user("acme", "id-bob").await, Ok(Some(bob)));
    assert_eq!(store.user("acme", "id-alice").await, Ok(Some(alice)));
    assert_eq!(store.user("acme", "nobody").await, Ok(None));
    assert_eq!(store.user("acme", "a/b").await, Ok(None));
    // Ordered by username, whatever the ids or the order of writes.
    assert_eq!(usernames(store.users("acme").await), ["alice", "bob", "carol"]);
    assert_eq!(store.users("other").await, Ok(vec![]));
}

pub(crate) async fn lookups_by_username_and_email_ignore_case(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let bob = user("acme", "id-bob", "Bob", Some("Bob@Example.com"));
    ok(store.put_user(&bob), "put user").await;
    for name in ["Bob", "bob", "BOB"] {
        assert_eq!(store.user_by_username("acme", name).await, Ok(Some(bob.clone())), "{name}");
    }
    for email in ["Bob@Example.com", "bob@example.com", "BOB@EXAMPLE.COM"] {
        assert_eq!(store.user_by_email("acme", email).await, Ok(Some(bob.clone())), "{email}");
    }
    assert_eq!(store.user_by_username("acme", "bobby").await, Ok(None));
    assert_eq!(store.user_by_email("acme", "nobody@example.com").await, Ok(None));
    assert_eq!(store.user_by_username("other", "bob").await, Ok(None), "another tenant's user");
    assert_eq!(store.user_by_email("other", "bob@example.com").await, Ok(None), "another tenant's user");
}

/// "The same name" is what `tessera_core::model::fold_case` says, Unicode's default lowercase
/// mapping and nothing more, on every backend: a database collation (SQL `lower()`, ICU,
/// accent-insensitive) must not widen or narrow it, or a name free on one backend is taken on
/// another.
pub(crate) async fn names_are_the_same_under_nfkc_case_folding_and_nothing_else(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let elodie = user("acme", "id-elodie", "Élodie", Some("ÉLODIE@EXAMPLE.COM"));
    ok(store.put_user(&elodie), "put user").await;
    assert_eq!(store.user_by_username("acme", "ÉLODIE").await, Ok(Some(elodie.clone())));
    assert_eq!(store.user_by_email("acme", "élodie@example.com").await, Ok(Some(elodie.clone())));
    // "E" + combining acute is the same name (normalisation); without the accent it is not.
    assert_eq!(store.user_by_username("acme", "E\u{301}lodie").await, Ok(Some(elodie.clone())));
    assert_eq!(store.user_by_username("acme", "Elodie").await, Ok(None));
    // Full case folding: "STRASSE" and "straße" are one name.
    let strasse = user("acme", "id-strasse", "straße", None);
    ok(store.put_user(&strasse), "put straße").await;
    let upper = store.put_user(&user("acme", "id-upper", "STRASSE", None)).await;
    assert!(is_conflict(&upper), "STRASSE is straße: {upper:?}");
    assert_eq!(store.user_by_username("acme", "Strasse").await, Ok(Some(strasse)));
    // Compatibility forms (NFKC): full-width letters and the Kelvin sign are plain letters.
    let kim = user("acme", "id-kim", "kim", None);
    ok(store.put_user(&kim), "put kim").await;
    assert_eq!(store.user_by_username("acme", "\u{FF4B}\u{FF49}\u{FF4D}").await, Ok(Some(kim.clone())));
    assert_eq!(store.user_by_username("acme", "\u{212A}IM").await, Ok(Some(kim)));
    // Another script is another name, however alike it looks.
    assert_eq!(store.user_by_username("acme", "\u{043A}im").await, Ok(None));
}

pub(crate) async fn a_taken_username_conflicts_regardless_of_case(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let alice = user("acme", "u1", "alice", Some("alice@example.com"));
    ok(store.put_user(&alice), "put user").await;
    for name in ["alice", "ALICE", "Alice"] {
        let put = store.put_user(&user("acme", "u2", name, Some("other@example.com"))).await;
        assert!(is_conflict(&put), "{name}: {put:?}");
    }
    // Nothing of the refused user was written, not even its free e-mail address.
    assert_eq!(store.user("acme", "u2").await, Ok(None));
    assert_eq!(store.user_by_email("acme", "other@example.com").await, Ok(None));
    assert_eq!(store.users("acme").await, Ok(vec![alice.clone()]));
    assert_eq!(store.user_by_username("acme", "alice").await, Ok(Some(alice)));
}

pub(crate) async fn usernames_and_emails_share_one_namespace(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let alice = user("acme", "u1", "alice@example.com", Some("alice@example.com"));
    ok(store.put_user(&alice), "a user's own username may be its own address").await;
    let bob = user("acme", "u2", "bob", Some("bob@example.com"));
    ok(store.put_user(&bob), "put bob").await;
    // A username that is another user's address, whatever the case, and an address that is
    // another user's username.
    let put = store.put_user(&user("acme", "u3", "BOB@example.com", None)).await;
    assert!(is_conflict(&put), "username = bob's address: {put:?}");
    ok(store.put_user(&user("acme", "u4", "carol@example.com", None)), "put carol").await;
    let put = store.put_user(&user("acme", "u5", "dave", Some("Carol@Example.com"))).await;
    assert!(is_conflict(&put), "address = carol's username: {put:?}");
    assert_eq!(store.user("acme", "u3").await, Ok(None));
    assert_eq!(store.user("acme", "u5").await, Ok(None));
    assert_eq!(store.user_by_username("acme", "dave").await, Ok(None), "nothing of dave was written");
    // Another tenant is another namespace.
    ok(store.put_user(&user("globex", "u3", "bob@example.com", None)), "another tenant").await;
}

pub(crate) async fn a_taken_email_conflicts_regardless_of_case(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let alice = user("acme", "u1", "alice", Some("alice@example.com"));
    ok(store.put_user(&alice), "put user").await;
    for email in ["alice@example.com", "Alice@EXAMPLE.com"] {
        let put = store.put_user(&user("acme", "u2", "al", Some(email))).await;
        assert!(is_conflict(&put), "{email}: {put:?}");
    }
    assert_eq!(store.user_by_username("acme", "al").await, Ok(None), "the free username was not taken");
    assert_eq!(store.user_by_email("acme", "alice@example.com").await, Ok(Some(alice)));
    // An existing user cannot take it by changing its address either.
    ok(store.put_user(&user("acme", "u3", "carol", None)), "put user").await;
    let put = store.put_user(&user("acme", "u3", "carol", Some("ALICE@example.com"))).await;
    assert!(is_conflict(&put), "{put:?}");
    assert_eq!(store.user("acme", "u3").await, Ok(Some(user("acme", "u3", "carol", None))), "unchanged");
}

pub(crate) async fn another_tenant_may_use_the_same_names(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let acme = user("acme", "u1", "alice", Some("alice@example.com"));
    let other = user("other", "u2", "ALICE", Some("ALICE@example.com"));
    ok(store.put_user(&acme), "put user").await;
    ok(store.put_user(&other), "the same names in another tenant").await;
    // The same id too: users are per tenant.
    let same_id = user("third", "u1", "alice", Some("alice@example.com"));
    ok(store.put_user(&same_id), "the same id in another tenant").await;
    assert_eq!(store.user_by_username("acme", "alice").await, Ok(Some(acme.clone())));
    assert_eq!(store.user_by_username("other", "alice").await, Ok(Some(other)));
    assert_eq!(store.user("third", "u1").await, Ok(Some(same_id)));
    assert_eq!(store.user("acme", "u1").await, Ok(Some(acme)));
}

pub(crate) async fn rewriting_a_user_with_its_own_names_is_no_conflict(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_user(&user("acme", "u1", "alice", Some("alice@example.com"))), "put user").await;
    // Another spelling of its own names, and a profile change.
    let mut again = user("acme", "u1", "Alice", Some("ALICE@example.com"));
    again.updated_at = 20;
    again.name = Some("Alice Liddell".to_owned());
    ok(store.put_user(&again), "rewrite user").await;
    assert_eq!(store.user("acme", "u1").await, Ok(Some(again.clone())));
    assert_eq!(store.user_by_username("acme", "alice").await, Ok(Some(again.clone())));
    assert_eq!(store.user_by_email("acme", "alice@example.com").await, Ok(Some(again)));
    assert_eq!(store.users("acme").await.map(|u| u.len()), Ok(1));
}

pub(crate) async fn a_rename_frees_the_old_names(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_user(&user("acme", "u1", "alice", Some("alice@example.com"))), "put user").await;
    let renamed = user("acme", "u1", "alicia", Some("alicia@example.com"));
    ok(store.put_user(&renamed), "rename").await;
    assert_eq!(store.user_by_username("acme", "alice").await, Ok(None));
    assert_eq!(store.user_by_email("acme", "alice@example.com").await, Ok(None));
    assert_eq!(store.user_by_username("acme", "alicia").await, Ok(Some(renamed)));
    // The old names are free for someone else.
    let newcomer = user("acme", "u2", "Alice", Some("Alice@example.com"));
    ok(store.put_user(&newcomer), "claim the freed names").await;
    assert_eq!(store.user_by_username("acme", "alice").await, Ok(Some(newcomer)));
    // Dropping the e-mail address frees it as well.
    ok(store.put_user(&user("acme", "u1", "alicia", None)), "drop the e-mail").await;
    assert_eq!(store.user_by_email("acme", "alicia@example.com").await, Ok(None));
    ok(store.put_user(&user("acme", "u3", "carol", Some("alicia@example.com"))), "claim it").await;
}

pub(crate) async fn deleting_a_user_frees_its_names(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_user(&user("acme", "u1", "alice", Some("alice@example.com"))), "put user").await;
    ok(store.put_user(&user("acme", "u2", "bob", None)), "put user").await;
    ok(store.delete_user("acme", "u1"), "delete user").await;
    assert_eq!(store.user("acme", "u1").await, Ok(None));
    assert_eq!(store.user_by_username("acme", "alice").await, Ok(None));
    assert_eq!(store.user_by_email("acme", "alice@example.com").await, Ok(None));
    assert_eq!(usernames(store.users("acme").await), ["bob"]);
    ok(store.put_user(&user("acme", "u3", "ALICE", Some("alice@example.com"))), "reuse the names").await;
    // Deleting a user that is not there is no error.
    ok(store.delete_user("acme", "missing"), "delete a missing user").await;
}

pub(crate) async fn of_concurrent_claims_of_one_name_exactly_one_wins(h: &impl Harness) {
    let store = open_at(h, 1_000);
    for round in 0..4 {
        // Each round a new name, claimed by 16 new users at once in different spellings.
        let claims: Vec<_> = (0..16)
            .map(|i| {
                let store = Arc::clone(&store);
                let name = if i % 2 == 0 { format!("name{round}") } else { format!("NAME{round}") };
                let u = user("acme", &format!("r{round}u{i}"), &name, None);
                tokio::spawn(async move { store.put_user(&u).await })
            })
            .collect();
        let mut won = 0;
        for claim in claims {
            match claim.await.expect("the claim task ends") {
                Ok(()) => won += 1,
                Err(StoreError::Conflict(_)) => {}
                Err(e) => panic!("round {round}: unexpected {e:?}"),
            }
        }
        assert_eq!(won, 1, "round {round}");
        assert_eq!(store.users("acme").await.map(|u| u.len()), Ok(round + 1), "round {round}");
    }
    // The same for e-mail addresses.
    let claims: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&store);
            let u = user("acme", &format!("e{i}"), &format!("e{i}"), Some("same@example.com"));
            tokio::spawn(async move { store.put_user(&u).await })
        })
        .collect();
    let mut won = 0;
    for claim in claims {
        if claim.await.expect("the claim task ends").is_ok() {
            won += 1;
        }
    }
    assert_eq!(won, 1);
    assert_eq!(store.users("acme").await.map(|u| u.len()), Ok(5));
}

pub(crate) async fn invalid_users_are_refused(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let bad = [
        user("acme", "u1", "has space", None),
        user("acme", "a/b", "ok", None),
        user("acme", "u1", "ok", Some("not an address")),
    ];
    for u in bad {
        let put = store.put_user(&u).await;
        assert!(matches!(put, Err(StoreError::Corrupt { .. })), "{u:?}: {put:?}");
    }
    assert_eq!(store.users("acme").await, Ok(vec![]));
    assert_eq!(store.user_by_username("acme", "ok").await, Ok(None), "no name claimed either");
}

pub(crate) async fn users_and_their_names_survive_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let bob = user("acme", "id-bob", "Bob", Some("Bob@Example.com"));
    ok(store.put_user(&bob), "put user").await;
    ok(store.put_user(&user("acme", "gone", "gone", None)), "put user").await;
    ok(store.delete_user("acme", "gone"), "delete user").await;
    let store = h.reopen(store);
    assert_eq!(store.user("acme", "id-bob").await, Ok(Some(bob.clone())));
    assert_eq!(store.user_by_email("acme", "BOB@example.com").await, Ok(Some(bob)));
    assert_eq!(store.user("acme", "gone").await, Ok(None));
    // The names are still taken after reopening, and the deleted user's still free.
    let put = store.put_user(&user("acme", "u2", "bob", None)).await;
    assert!(is_conflict(&put), "{put:?}");
    ok(store.put_user(&user("acme", "u3", "gone", None)), "claim the deleted user's name").await;
}
