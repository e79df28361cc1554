//! Listing users a page at a time (`UserStore::list_users`): pages in id order that walk the
//! tenant exactly once, even while users are added, renamed and deleted between pages; the
//! username and e-mail filters under the same folding as the uniqueness indexes; the disabled
//! filter across pages; and a user's `disabled` and `grants_valid_from` kept as written,
//! across reopening too.

use std::collections::BTreeSet;

use tessera_core::listing::{UserPage, UserQuery};
use tessera_core::model::User;
use tessera_core::store::{StoreError, UserStore};

use crate::Harness;
use crate::fixtures::{ok, user};
use crate::harness::open_at;

fn ids(page: &UserPage) -> Vec<String> {
    page.users.iter().map(|u| u.id.clone()).collect()
}

/// The ids `ids` on a last page, as `page` answers.
fn found(ids: &[&str]) -> Result<(Vec<String>, bool), StoreError> {
    Ok((ids.iter().map(|id| (*id).to_owned()).collect(), false))
}

fn query(limit: usize) -> UserQuery {
    UserQuery { limit, ..UserQuery::default() }
}

/// Every page of `query` from the start, each page's query continuing after the last id of
/// the one before; `between` runs after each page.
async fn walk<S: UserStore + ?Sized>(
    store: &S,
    tenant: &str,
    query: UserQuery,
    mut between: impl AsyncFnMut(usize),
) -> Vec<UserPage> {
    let mut pages = Vec::new();
    let mut q = query;
    loop {
        let page = store.list_users(tenant, &q).await.expect("list users");
        assert!(page.users.len() <= q.page_size(), "a page holds at most its limit");
        let more = page.more;
        q.after = page.users.last().map(|u| u.id.clone());
        pages.push(page);
        between(pages.len()).await;
        if !more {
            return pages;
        }
        assert!(pages.len() < 1_000, "the walk ends");
    }
}

pub(crate) async fn pages_follow_id_order_and_walk_the_tenant_once(h: &impl Harness) {
    let store = open_at(h, 1_000);
    // Written out of order; ids of different lengths sort by bytes ("u10" before "u2").
    let ids_written = ["u5", "u2", "u10", "u7", "a", "u1", "z"];
    for (i, id) in ids_written.iter().enumerate() {
        ok(store.put_user(&user("acme", id, &format!("name{i}"), None)), "put user").await;
    }
    ok(store.put_user(&user("acme2", "u3", "elsewhere", None)), "another tenant's user").await;
    ok(store.put_user(&user("acm", "u4", "elsewhere", None)), "a tenant whose id is a prefix").await;
    let mut expected: Vec<String> = ids_written.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();

    let pages = walk(&*store, "acme", query(3), async |_| {}).await;
    assert_eq!(pages.iter().map(|p| p.users.len()).collect::<Vec<_>>(), [3, 3, 1]);
    assert_eq!(pages.iter().map(|p| p.more).collect::<Vec<_>>(), [true, true, false]);
    assert_eq!(pages.iter().flat_map(ids).collect::<Vec<_>>(), expected);
    // A page that ends exactly at the last user says there is no more.
    let all = store.list_users("acme", &query(7)).await.expect("list");
    assert_eq!((ids(&all), all.more), (expected.clone(), false));
    let all_but_one = store.list_users("acme", &query(6)).await.expect("list");
    assert!(all_but_one.more);
    // A limit of 0 is a page of one.
    assert_eq!(store.list_users("acme", &query(0)).await.expect("list").users.len(), 1);
    // A cursor past the end, or between ids, continues after it.
    let q = UserQuery { after: Some("zz".into()), ..query(5) };
    assert_eq!(store.list_users("acme", &q).await, Ok(UserPage::default()));
    let q = UserQuery { after: Some("u15".into()), ..query(5) };
    assert_eq!(ids(&store.list_users("acme", &q).await.expect("list")), ["u2", "u5", "u7", "z"]);
    // Users are whole records, and other tenants' are never listed.
    assert_eq!(all.users[0], user("acme", "a", "name4", None));
    assert_eq!(store.list_users("acme2", &query(5)).await.map(|p| ids(&p)), Ok(vec!["u3".to_owned()]));
    assert_eq!(store.list_users("other", &query(5)).await, Ok(UserPage::default()));
    assert_eq!(store.list_users("a/b", &query(5)).await, Ok(UserPage::default()));
}

pub(crate) async fn a_walk_meets_every_user_stored_throughout_exactly_once(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let throughout: BTreeSet<String> = (0..20).map(|i| format!("k{i:02}")).collect();
    for id in &throughout {
        ok(store.put_user(&user("acme", id, &format!("n-{id}"), None)), "put user").await;
    }
    ok(store.put_user(&user("acme", "k05x", "doomed", None)), "put a user deleted later").await;
    let writer = store.clone();
    let pages = walk(&*store, "acme", query(3), async |n| {
        // After each page: users before and after the cursor, a rename, a deletion.
        let before = user("acme", &format!("a{n:02}"), &format!("early{n}"), None);
        let after = user("acme", &format!("m{n:02}"), &format!("late{n}"), None);
        ok(writer.put_user(&before), "add a user before the cursor").await;
        ok(writer.put_user(&after), "add a user after the cursor").await;
        let renamed = user("acme", &format!("k{:02}", (n * 7) % 20), &format!("renamed{n}"), None);
        ok(writer.put_user(&renamed), "rename a user").await;
        if n == 1 {
            ok(writer.delete_user("acme", "k05x"), "delete a user not yet met").await;
        }
    })
    .await;
    let met: Vec<String> = pages.iter().flat_map(ids).collect();
    let unique: BTreeSet<String> = met.iter().cloned().collect();
    assert_eq!(met.len(), unique.len(), "no user twice: {met:?}");
    assert!(throughout.is_subset(&unique), "every user stored throughout: {met:?}");
    assert!(!unique.contains("k05x"), "a user deleted before its page is not met");
    assert!(met.windows(2).all(|w| w[0] < w[1]), "in id order: {met:?}");
    // Users added behind the cursor are not met; those ahead of it are.
    assert!(!unique.iter().any(|id| id.starts_with('a')), "{met:?}");
    assert!(unique.contains("m01"), "{met:?}");
}

pub(crate) async fn pages_filter_by_username_email_and_disabled(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let mut users: Vec<User> = Vec::new();
    for i in 0..9 {
        let email = format!("user{i}@example.com");
        let mut u = user("acme", &format!("u{i}"), &format!("user{i}"), Some(email.as_str()));
        if i % 3 == 0 {
            u.disable(900);
        }
        ok(store.put_user(&u), "put user").await;
        users.push(u);
    }
    let straße = user("acme", "v0", "Straße", Some("Ada@Example.COM"));
    ok(store.put_user(&straße), "put user").await;
    let find = |username: Option<&str>, email: Option<&str>, disabled: Option<bool>| UserQuery {
        username: username.map(Into::into),
        email: email.map(Into::into),
        disabled,
        ..query(10)
    };
    let page = |q: UserQuery| {
        let store = store.clone();
        async move { store.list_users("acme", &q).await.map(|p| (ids(&p), p.more)) }
    };
    let one = |id: &str| found(&[id]);
    let none = found(&[]);
    // Names under the indexes' folding: case, full case folding, compatibility forms.
    assert_eq!(page(find(Some("STRASSE"), None, None)).await, one("v0"));
    assert_eq!(page(find(Some("ｓｔｒａßｅ"), None, None)).await, one("v0"));
    assert_eq!(page(find(Some("Strase"), None, None)).await, none.clone());
    assert_eq!(page(find(None, Some("ada@example.com"), None)).await, one("v0"));
    assert_eq!(page(find(None, Some("nobody@example.com"), None)).await, none.clone());
    // One namespace in the index, but a filter asks one field: an address is no username.
    assert_eq!(page(find(Some("ada@example.com"), None, None)).await, none.clone());
    assert_eq!(page(find(None, Some("Straße"), None)).await, none.clone());
    // Filters combine.
    assert_eq!(page(find(Some("user3"), Some("USER3@example.com"), None)).await, one("u3"));
    assert_eq!(page(find(Some("user3"), Some("user4@example.com"), None)).await, none.clone());
    assert_eq!(page(find(Some("user3"), None, Some(true))).await, one("u3"));
    assert_eq!(page(find(Some("user3"), None, Some(false))).await, none.clone());
    assert_eq!(page(find(None, Some("user4@example.com"), Some(false))).await, one("u4"));
    // A cursor applies to a name filter too: the one user is behind it.
    let behind = UserQuery { after: Some("u3".into()), ..find(Some("user3"), None, None) };
    assert_eq!(page(behind).await, none.clone());
    // Another tenant's name is unknown here.
    assert_eq!(store.list_users("other", &find(Some("user3"), None, None)).await, Ok(UserPage::default()));

    // The disabled filter across pages of one: exactly the disabled users, in order.
    let disabled =
        walk(&*store, "acme", UserQuery { limit: 1, ..find(None, None, Some(true)) }, async |_| {}).await;
    let met: Vec<String> = disabled.iter().flat_map(ids).collect();
    assert_eq!(met, ["u0", "u3", "u6"]);
    assert!(disabled.iter().flat_map(|p| &p.users).all(|u| u.disabled));
    let enabled =
        walk(&*store, "acme", UserQuery { limit: 4, ..find(None, None, Some(false)) }, async |_| {}).await;
    let met: Vec<String> = enabled.iter().flat_map(ids).collect();
    assert_eq!(met, ["u1", "u2", "u4", "u5", "u7", "u8", "v0"]);
}

pub(crate) async fn a_users_disabled_state_and_cut_off_are_kept(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let mut off = user("acme", "u1", "off", None);
    off.disable(500);
    let mut back = user("acme", "u2", "back", None);
    back.disable(600);
    back.enable(601).expect("after the cut-off");
    for u in [&off, &back] {
        ok(store.put_user(u), "put user").await;
    }
    assert_eq!(store.user("acme", "u1").await, Ok(Some(off.clone())));
    assert_eq!(store.user_by_username("acme", "back").await, Ok(Some(back.clone())));
    let store = h.reopen(store);
    let read = store.user("acme", "u1").await.expect("read").expect("stored");
    assert!(read.disabled);
    assert_eq!(read.grants_valid_from, 501);
    let read = store.user("acme", "u2").await.expect("read").expect("stored");
    assert!(!read.disabled);
    assert_eq!(read.grants_valid_from, 601);
    assert_eq!(read, back);
}
