//! Roles and their assignments (`RoleStore`): a role's name unique per tenant regardless of
//! ASCII case, creates only in a stored tenant and under the tenant's bound, changes only of a
//! stored role; assignments only of a stored role to a stored user or client, idempotent and
//! bounded per subject; deleting a role, a user or a client takes its assignments along; the
//! user listing's role filter across pages; all of it read back at once and after reopening,
//! and heard on the change feed.

use std::sync::{Arc, Mutex, PoisonError};

use tessera_core::changes::{ChangeFeed, ChangeKind, Notice};
use tessera_core::listing::UserQuery;
use tessera_core::model::{MAX_ROLES_PER_SUBJECT, Role};
use tessera_core::store::{ClientStore, RoleStore, StoreError, Subject, TenantStore, UserStore};

use crate::Harness;
use crate::fixtures::{client, is_conflict, ok, role, tenant, user};
use crate::harness::open_at;

async fn held<S: RoleStore + ?Sized>(store: &S, t: &str, subject: Subject<'_>) -> Vec<String> {
    store.roles_of(t, subject).await.expect("read assignments").to_vec()
}

async fn names<S: RoleStore + ?Sized>(store: &S, t: &str) -> Vec<String> {
    store.roles(t).await.expect("read roles").roles().iter().map(|r| r.name.clone()).collect()
}

pub(crate) async fn roles_round_trip_and_changes_are_read_back_at_once(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    let editor = role("acme", "r2", "editor", &["docs:write", "docs:read"]);
    ok(store.create_role(&editor), "create editor").await;
    ok(store.create_role(&role("acme", "r1", "viewer", &["docs:read"])), "create viewer").await;
    let roles = store.roles("acme").await.expect("read roles");
    assert_eq!(roles.get("r2"), Some(&editor));
    assert_eq!(roles.find("VIEWER").map(|r| r.id.as_str()), Some("r1"), "by name, case ignored");
    // A change, a rename included, is read back at once (no stale cached set).
    let renamed = Role {
        name: "author".into(),
        permissions: vec!["docs:write".into()],
        updated_at: 1_700_000_100,
        ..editor
    };
    ok(store.update_role(&renamed), "update").await;
    assert_eq!(store.roles("acme").await.expect("read").get("r2"), Some(&renamed));
    assert_eq!(names(&*store, "acme").await, ["viewer", "author"], "in id order");
    // Another tenant sees none of them.
    assert!(store.roles("other").await.expect("read").is_empty());
    ok(store.delete_role("acme", "r1"), "delete").await;
    assert_eq!(names(&*store, "acme").await, ["author"]);
    ok(store.delete_role("acme", "r1"), "deleting again is done already").await;
    let store = h.reopen(store);
    assert_eq!(store.roles("acme").await.expect("read").roles(), [renamed]);
}

pub(crate) async fn a_taken_role_name_conflicts_regardless_of_case_and_writes_nothing(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    ok(store.put_tenant(&tenant("other")), "tenant").await;
    ok(store.create_role(&role("acme", "r1", "editor", &[])), "create").await;
    assert!(is_conflict(&store.create_role(&role("acme", "r2", "EDITOR", &[])).await), "create");
    ok(store.create_role(&role("acme", "r2", "viewer", &[])), "another name").await;
    assert!(is_conflict(&store.update_role(&role("acme", "r2", "Editor", &[])).await), "rename onto it");
    assert!(is_conflict(&store.create_role(&role("acme", "r1", "third", &[])).await), "a taken id");
    ok(store.update_role(&role("acme", "r1", "EDITOR", &["x"])), "its own name, recased").await;
    assert_eq!(names(&*store, "acme").await, ["EDITOR", "viewer"]);
    ok(store.create_role(&role("other", "r1", "editor", &[])), "another tenant's names are its own").await;
}

pub(crate) async fn a_role_needs_its_tenant_and_a_change_needs_the_role(h: &impl Harness) {
    let store = open_at(h, 1_000);
    assert!(is_conflict(&store.create_role(&role("ghost", "r1", "editor", &[])).await), "no tenant");
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    assert!(is_conflict(&store.update_role(&role("acme", "r1", "editor", &[])).await), "not stored");
    ok(store.create_role(&role("acme", "r1", "editor", &[])), "create").await;
    ok(store.delete_role("acme", "r1"), "delete").await;
    // A change racing the deletion never brings the role back.
    assert!(is_conflict(&store.update_role(&role("acme", "r1", "editor", &["x"])).await), "deleted");
    assert!(store.roles("acme").await.expect("read").is_empty());
    let bad = Role { permissions: vec!["two words".into()], ..role("acme", "r3", "bad", &[]) };
    assert!(matches!(store.create_role(&bad).await, Err(StoreError::Corrupt { .. })), "invalid role");
    let bad_id = role("acme", "a/b", "slash", &[]);
    assert!(store.create_role(&bad_id).await.is_err(), "invalid id");
}

pub(crate) async fn of_concurrent_creates_of_one_name_exactly_one_wins(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    let creates: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&store);
            let name = if i % 2 == 0 { "editor" } else { "Editor" };
            let r = role("acme", &format!("r{i}"), name, &[]);
            tokio::spawn(async move { store.create_role(&r).await })
        })
        .collect();
    let mut won = 0;
    for create in creates {
        match create.await.expect("the create task ends") {
            Ok(()) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(store.roles("acme").await.expect("read").len(), 1);
}

pub(crate) async fn assignments_need_a_stored_role_and_subject_and_are_idempotent(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    ok(store.put_client(&client("acme", "web")), "client").await;
    ok(store.put_user(&user("acme", "u1", "alice", None)), "user").await;
    ok(store.create_role(&role("acme", "r2", "editor", &[])), "role").await;
    ok(store.create_role(&role("acme", "r1", "viewer", &[])), "role").await;
    assert!(is_conflict(&store.assign_role("acme", Subject::User("u1"), "nope").await), "no role");
    assert!(is_conflict(&store.assign_role("acme", Subject::User("u9"), "r1").await), "no user");
    assert!(is_conflict(&store.assign_role("acme", Subject::Client("app"), "r1").await), "no client");
    assert!(is_conflict(&store.assign_role("other", Subject::User("u1"), "r1").await), "another tenant");
    ok(store.assign_role("acme", Subject::User("u1"), "r2"), "assign").await;
    ok(store.assign_role("acme", Subject::User("u1"), "r1"), "assign").await;
    ok(store.assign_role("acme", Subject::User("u1"), "r1"), "again: no change").await;
    assert_eq!(
        held(&*store, "acme", Subject::User("u1")).await,
        ["r1", "r2"],
        "read back at once, in id order"
    );
    assert!(
        held(&*store, "acme", Subject::Client("u1")).await.is_empty(),
        "a client of the same id holds none"
    );
    ok(store.assign_role("acme", Subject::Client("web"), "r1"), "assign to the client").await;
    assert_eq!(held(&*store, "acme", Subject::Client("web")).await, ["r1"]);
    ok(store.unassign_role("acme", Subject::User("u1"), "r2"), "unassign").await;
    ok(store.unassign_role("acme", Subject::User("u1"), "r2"), "unassign again").await;
    assert_eq!(held(&*store, "acme", Subject::User("u1")).await, ["r1"]);
    let store = h.reopen(store);
    assert_eq!(held(&*store, "acme", Subject::User("u1")).await, ["r1"]);
    assert_eq!(held(&*store, "acme", Subject::Client("web")).await, ["r1"]);
}

pub(crate) async fn a_subject_holds_a_bounded_number_of_roles(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    ok(store.put_user(&user("acme", "u1", "alice", None)), "user").await;
    for i in 0..=MAX_ROLES_PER_SUBJECT {
        ok(store.create_role(&role("acme", &format!("r{i:03}"), &format!("role{i}"), &[])), "role").await;
    }
    for i in 0..MAX_ROLES_PER_SUBJECT {
        ok(store.assign_role("acme", Subject::User("u1"), &format!("r{i:03}")), "assign").await;
    }
    let last = format!("r{MAX_ROLES_PER_SUBJECT:03}");
    assert!(is_conflict(&store.assign_role("acme", Subject::User("u1"), &last).await), "one too many");
    ok(store.assign_role("acme", Subject::User("u1"), "r000"), "one already held is no new one").await;
    assert_eq!(held(&*store, "acme", Subject::User("u1")).await.len(), MAX_ROLES_PER_SUBJECT);
}

pub(crate) async fn deleting_a_role_unassigns_it_and_a_new_role_of_its_name_is_nobodys(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    ok(store.put_client(&client("acme", "web")), "client").await;
    ok(store.put_user(&user("acme", "u1", "alice", None)), "user").await;
    ok(store.create_role(&role("acme", "r1", "editor", &[])), "role").await;
    ok(store.create_role(&role("acme", "r2", "viewer", &[])), "role").await;
    for (subject, r) in
        [(Subject::User("u1"), "r1"), (Subject::User("u1"), "r2"), (Subject::Client("web"), "r1")]
    {
        ok(store.assign_role("acme", subject, r), "assign").await;
    }
    ok(store.delete_role("acme", "r1"), "delete the role").await;
    assert_eq!(held(&*store, "acme", Subject::User("u1")).await, ["r2"]);
    assert!(held(&*store, "acme", Subject::Client("web")).await.is_empty());
    ok(store.create_role(&role("acme", "r3", "editor", &[])), "the name again").await;
    assert_eq!(held(&*store, "acme", Subject::User("u1")).await, ["r2"]);
    let q = UserQuery { limit: 10, role: Some("r1".into()), ..UserQuery::default() };
    assert!(store.list_users("acme", &q).await.expect("list").users.is_empty(), "no members left");
    let store = h.reopen(store);
    assert_eq!(held(&*store, "acme", Subject::User("u1")).await, ["r2"]);
}

pub(crate) async fn deleting_a_user_or_a_client_takes_its_assignments(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    ok(store.put_client(&client("acme", "web")), "client").await;
    ok(store.put_user(&user("acme", "u1", "alice", None)), "user").await;
    ok(store.put_user(&user("acme", "u2", "bob", None)), "user").await;
    ok(store.create_role(&role("acme", "r1", "editor", &[])), "role").await;
    for subject in [Subject::User("u1"), Subject::User("u2"), Subject::Client("web")] {
        ok(store.assign_role("acme", subject, "r1"), "assign").await;
    }
    ok(store.delete_user("acme", "u1"), "delete the user").await;
    ok(store.delete_client("acme", "web"), "delete the client").await;
    // The same ids come back without the roles their predecessors held.
    ok(store.put_user(&user("acme", "u1", "alice", None)), "user again").await;
    ok(store.put_client(&client("acme", "web")), "client again").await;
    assert!(held(&*store, "acme", Subject::User("u1")).await.is_empty());
    assert!(held(&*store, "acme", Subject::Client("web")).await.is_empty());
    assert_eq!(held(&*store, "acme", Subject::User("u2")).await, ["r1"], "another user keeps hers");
    let q = UserQuery { limit: 10, role: Some("r1".into()), ..UserQuery::default() };
    let ids: Vec<_> =
        store.list_users("acme", &q).await.expect("list").users.into_iter().map(|u| u.id).collect();
    assert_eq!(ids, ["u2"]);
}

pub(crate) async fn the_role_filter_pages_through_the_roles_users(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    ok(store.put_client(&client("acme", "u3")), "a client whose id is a user's").await;
    ok(store.create_role(&role("acme", "r1", "editor", &[])), "role").await;
    for (i, id) in ["u5", "u2", "u10", "u7", "u1", "u3"].iter().enumerate() {
        let mut u = user("acme", id, &format!("name{i}"), None);
        u.disabled = *id == "u7";
        ok(store.put_user(&u), "user").await;
        if *id != "u2" {
            ok(store.assign_role("acme", Subject::User(id), "r1"), "assign").await;
        }
    }
    ok(store.assign_role("acme", Subject::Client("u3"), "r1"), "assign to the client").await;
    let mut q = UserQuery { limit: 2, role: Some("r1".into()), ..UserQuery::default() };
    let mut seen = Vec::new();
    loop {
        let page = store.list_users("acme", &q).await.expect("list");
        assert!(page.users.len() <= 2);
        seen.extend(page.users.iter().map(|u| u.id.clone()));
        q.after = page.users.last().map(|u| u.id.clone());
        if !page.more {
            break;
        }
    }
    assert_eq!(seen, ["u1", "u10", "u3", "u5", "u7"], "each member once, in id order");
    let q = UserQuery { limit: 10, role: Some("r1".into()), disabled: Some(true), ..UserQuery::default() };
    let page = store.list_users("acme", &q).await.expect("list");
    assert_eq!(page.users.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), ["u7"], "with another filter");
    let by_name = UserQuery {
        limit: 10,
        role: Some("r1".into()),
        username: Some("NAME1".into()),
        ..UserQuery::default()
    };
    assert!(store.list_users("acme", &by_name).await.expect("list").users.is_empty(), "u2 lacks the role");
    let by_name = UserQuery { username: Some("name0".into()), ..by_name };
    assert_eq!(store.list_users("acme", &by_name).await.expect("list").users.len(), 1, "u5 holds it");
    let unknown = UserQuery { limit: 10, role: Some("nope".into()), ..UserQuery::default() };
    assert!(store.list_users("acme", &unknown).await.expect("list").users.is_empty());
}

pub(crate) async fn role_and_assignment_writes_are_heard(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    ok(store.put_client(&client("acme", "web")), "client").await;
    ok(store.put_user(&user("acme", "u1", "alice", None)), "user").await;
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&heard);
    store.subscribe(Arc::new(move |notice| {
        if let Notice::Changed(c) = notice {
            sink.lock().unwrap_or_else(PoisonError::into_inner).push((c.kind, c.id.clone()));
        }
    }));
    let take = || std::mem::take(&mut *heard.lock().unwrap_or_else(PoisonError::into_inner));
    ok(store.create_role(&role("acme", "r1", "editor", &[])), "role").await;
    assert!(take().contains(&(ChangeKind::Role, "r1".into())), "a role create");
    ok(store.assign_role("acme", Subject::User("u1"), "r1"), "assign").await;
    assert!(take().contains(&(ChangeKind::User, "u1".into())), "an assignment, as its user");
    ok(store.assign_role("acme", Subject::Client("web"), "r1"), "assign").await;
    assert!(take().contains(&(ChangeKind::Client, "web".into())), "an assignment, as its client");
    ok(store.delete_role("acme", "r1"), "delete").await;
    let deleted = take();
    for change in
        [(ChangeKind::Role, "r1".into()), (ChangeKind::User, "u1".into()), (ChangeKind::Client, "web".into())]
    {
        assert!(deleted.contains(&change), "{change:?} in {deleted:?}");
    }
    assert!(is_conflict(&store.assign_role("acme", Subject::User("u1"), "r1").await));
    assert!(take().is_empty(), "a refused write is not heard");
}
