//! Users and roles over PostgreSQL.
//!
//! Usernames and e-mail addresses share one namespace per tenant (`user_names`, keyed by
//! tenant and core's `fold_case` of the name): `put_user` deletes the user's old names and
//! inserts its new ones with `ON CONFLICT DO NOTHING` in one transaction, so the primary key
//! decides between concurrent claims of one name (the second insert waits for the first's
//! transaction and then finds the name taken: a conflict, and nothing of the write is kept).
//! Role writes lock the tenant's row `FOR UPDATE` and check what the fjall writer checks
//! (the tenant stored, the id free or present, the name free regardless of ASCII case, at most
//! `MAX_ROLES_PER_TENANT`); assignments lock the subject's row, so its bound
//! (`MAX_ROLES_PER_SUBJECT`) holds under concurrent assignments, and hold the role's row, so
//! neither can be deleted under a new assignment.

use std::future::ready;
use std::sync::Arc;

use tessera_core::changes::{Change, ChangeKind};
use tessera_core::listing::{UserPage, UserQuery};
use tessera_core::model::{MAX_ROLES_PER_SUBJECT, MAX_ROLES_PER_TENANT, Role, User, fold_case};
use tessera_core::rbac::RoleSet;
use tessera_core::store::{Commit, Read, RoleStore, Subject, UserStore, failed_commit};
use tessera_storage::encoding::key;

use crate::db::Inner;
use crate::error::{PgError, conflict};
use crate::sql::{self, bindable, encode, fetch, fetch_all, lock_tenant};
use crate::store::PgStore;

/// Users read per query while filling a page whose filter SQL does not apply.
const PAGE_BATCH: i64 = 256;

fn change(tenant: &str, kind: ChangeKind, id: &str) -> Change {
    Change { tenant: tenant.to_owned(), kind, id: id.to_owned() }
}

fn done() -> Commit {
    Box::pin(ready(Ok(())))
}

/// The user whose `column` (its folded username or e-mail) is `value` folded.
async fn user_by(db: &Inner, tenant: &str, column: &str, value: &str) -> Result<Option<User>, PgError> {
    let folded = fold_case(value);
    if key::tenant(tenant).is_none() || !bindable(&folded) {
        return Ok(None);
    }
    let sql = format!("SELECT record, id FROM users WHERE tenant = $1 AND {column} = $2 LIMIT 1");
    let users: Vec<User> = fetch_all(db, &sql, &[&tenant, &folded], |id| key::by_id(tenant, id)).await?;
    Ok(users.into_iter().next())
}

async fn holds_role(db: &Inner, user: &User, role: &str) -> Result<bool, PgError> {
    let client = db.client().await?;
    let sql = "SELECT 1 FROM role_assignments
               WHERE tenant = $1 AND subject_kind = 'u' AND subject = $2 AND role_id = $3";
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query_opt(&statement, &[&user.tenant, &user.id, &role]).await?.is_some())
}

/// One page of users from `sql` (records and ids after `$2`, in id order, `LIMIT $3`, more
/// parameters after), filtered by `query` in batches: the reads stop one matching user past
/// the page, as `UserStore::list_users` asks.
async fn fill_page(
    db: &Inner,
    sql: &str,
    tenant: &str,
    extra: Option<&str>,
    query: &UserQuery,
) -> Result<UserPage, PgError> {
    let client = db.client().await?;
    let statement = client.prepare_cached(sql).await?;
    let mut cursor = query.after.clone().unwrap_or_default();
    let mut candidates = Vec::new();
    loop {
        let rows = match extra {
            Some(extra) => client.query(&statement, &[&tenant, &cursor, &PAGE_BATCH, &extra]).await?,
            None => client.query(&statement, &[&tenant, &cursor, &PAGE_BATCH]).await?,
        };
        for row in &rows {
            let user: User = sql::decode_row(row, &|id: &str| key::by_id(tenant, id))?;
            cursor = user.id.clone();
            if query.is_after_cursor(&user.id) && query.matches(&user) {
                candidates.push(user);
                if candidates.len() > query.page_size() {
                    return Ok(UserPage::from_candidates(candidates, query));
                }
            }
        }
        if rows.len() < usize::try_from(PAGE_BATCH).unwrap_or(usize::MAX) {
            return Ok(UserPage::from_candidates(candidates, query));
        }
    }
}

impl UserStore for PgStore {
    fn user(&self, tenant: &str, id: &str) -> Read<Option<User>> {
        let Some(k) = key::by_id(tenant, id) else { return Read::ready(Ok(None)) };
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.read(|db| async move {
            fetch(&db, "SELECT record FROM users WHERE tenant = $1 AND id = $2", &[&tenant, &id], &k).await
        })
    }

    fn user_by_username(&self, tenant: &str, username: &str) -> Read<Option<User>> {
        let (tenant, username) = (tenant.to_owned(), username.to_owned());
        self.read(|db| async move { user_by(&db, &tenant, "username_folded", &username).await })
    }

    fn user_by_email(&self, tenant: &str, email: &str) -> Read<Option<User>> {
        let (tenant, email) = (tenant.to_owned(), email.to_owned());
        self.read(|db| async move { user_by(&db, &tenant, "email_folded", &email).await })
    }

    fn users(&self, tenant: &str) -> Read<Vec<User>> {
        if key::tenant(tenant).is_none() {
            return Read::ready(Ok(Vec::new()));
        }
        let tenant = tenant.to_owned();
        self.read(|db| async move {
            let sql = "SELECT record, id FROM users WHERE tenant = $1";
            let mut users: Vec<User> = fetch_all(&db, sql, &[&tenant], |id| key::by_id(&tenant, id)).await?;
            users.sort_by(|a, b| a.username.cmp(&b.username).then_with(|| a.id.cmp(&b.id)));
            Ok(users)
        })
    }

    fn list_users(&self, tenant: &str, query: &UserQuery) -> Read<UserPage> {
        if key::tenant(tenant).is_none() {
            return Read::ready(Ok(UserPage::default()));
        }
        let (tenant, query) = (tenant.to_owned(), query.clone());
        self.read(|db| async move {
            let wanted = |u: &User| query.is_after_cursor(&u.id) && query.matches(u);
            // A name filter is answered through its index: at most one user has the name.
            let indexed = match (&query.username, &query.email) {
                (Some(username), _) => Some(user_by(&db, &tenant, "username_folded", username).await?),
                (None, Some(email)) => Some(user_by(&db, &tenant, "email_folded", email).await?),
                (None, None) => None,
            };
            if let Some(found) = indexed {
                let found = match (found, &query.role) {
                    (Some(user), Some(role)) if !holds_role(&db, &user, role).await? => None,
                    (found, _) => found,
                };
                return Ok(UserPage::from_candidates(found.into_iter().filter(wanted).collect(), &query));
            }
            if let Some(role) = &query.role {
                let sql = "SELECT u.record, u.id FROM role_assignments a
                           JOIN users u ON u.tenant = a.tenant AND u.id = a.subject
                           WHERE a.tenant = $1 AND a.subject_kind = 'u' AND a.subject > $2 AND a.role_id = $4
                           ORDER BY a.subject LIMIT $3";
                return fill_page(&db, sql, &tenant, Some(role), &query).await;
            }
            let sql = "SELECT record, id FROM users WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3";
            fill_page(&db, sql, &tenant, None, &query).await
        })
    }

    fn put_user(&self, user: &User) -> Commit {
        let record = match encode(key::by_id(&user.tenant, &user.id), user, "user") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let username = fold_case(&user.username);
        let email = user.email.as_deref().map(fold_case);
        if !bindable(&username) || !email.as_deref().is_none_or(bindable) {
            return failed_commit(crate::error::invalid("user name"));
        }
        let (tenant, id) = (user.tenant.clone(), user.id.clone());
        self.write(move |db| async move {
            let mut client = db.client().await?;
            let tx = client.transaction().await?;
            tx.execute("DELETE FROM user_names WHERE tenant = $1 AND user_id = $2", &[&tenant, &id]).await?;
            let claim = tx
                .prepare_cached(
                    "INSERT INTO user_names (tenant, name, user_id) VALUES ($1, $2, $3)
                     ON CONFLICT (tenant, name) DO NOTHING",
                )
                .await?;
            // A user's own username may equal its own address: one entry serves both.
            let mut names = vec![(username.clone(), "username")];
            if let Some(email) = email.clone().filter(|e| *e != username) {
                names.push((email, "email"));
            }
            for (name, what) in names {
                if tx.execute(&claim, &[&tenant, &name, &id]).await? == 0 {
                    return Err(conflict(format!("{what} is taken by another user")));
                }
            }
            let upsert = "INSERT INTO users (tenant, id, username_folded, email_folded, record)
                          VALUES ($1, $2, $3, $4, $5)
                          ON CONFLICT (tenant, id) DO UPDATE SET username_folded = excluded.username_folded,
                              email_folded = excluded.email_folded, record = excluded.record";
            tx.execute(upsert, &[&tenant, &id, &username, &email, &record]).await?;
            let changes = vec![change(&tenant, ChangeKind::User, &id)];
            db.record(&tx, &changes).await?;
            tx.commit().await?;
            Ok(((), changes))
        })
    }

    fn delete_user(&self, tenant: &str, id: &str) -> Commit {
        if key::by_id(tenant, id).is_none() {
            return done();
        }
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.write(move |db| async move {
            let mut client = db.client().await?;
            let tx = client.transaction().await?;
            // The user's row first: an assignment in flight holds it, so it commits before
            // the assignments are deleted below (and is deleted with them), or finds no user.
            for sql in [
                "DELETE FROM users WHERE tenant = $1 AND id = $2",
                "DELETE FROM user_names WHERE tenant = $1 AND user_id = $2",
                "DELETE FROM consents WHERE tenant = $1 AND user_id = $2",
                "DELETE FROM federated_links WHERE tenant = $1 AND user_id = $2",
                "DELETE FROM role_assignments WHERE tenant = $1 AND subject_kind = 'u' AND subject = $2",
            ] {
                tx.execute(sql, &[&tenant, &id]).await?;
            }
            let changes = vec![change(&tenant, ChangeKind::User, &id)];
            db.record(&tx, &changes).await?;
            tx.commit().await?;
            Ok(((), changes))
        })
    }
}

/// The kind column and the table of a role assignment's subject.
fn subject_parts(subject: Subject<'_>) -> (&'static str, &'static str, String, ChangeKind) {
    match subject {
        Subject::User(id) => (
            "u",
            "SELECT 1 FROM users WHERE tenant = $1 AND id = $2 FOR UPDATE",
            id.to_owned(),
            ChangeKind::User,
        ),
        Subject::Client(id) => (
            "c",
            "SELECT 1 FROM clients WHERE tenant = $1 AND client_id = $2 FOR UPDATE",
            id.to_owned(),
            ChangeKind::Client,
        ),
    }
}

impl PgStore {
    fn put_role(&self, role: &Role, create: bool) -> Commit {
        let record = match encode(key::by_id(&role.tenant, &role.id), role, "role") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let role = role.clone();
        self.write(move |db| async move {
            let mut client = db.client().await?;
            let tx = client.transaction().await?;
            let tenant = role.tenant.clone();
            // The tenant's row, exclusively: role writes of one tenant run one at a time, so
            // the name and count checks below see every other role write.
            if !lock_tenant(&tx, &tenant, true).await? {
                return Err(conflict(format!("tenant {tenant} does not exist")));
            }
            let rows = tx.query("SELECT record, id FROM roles WHERE tenant = $1", &[&tenant]).await?;
            let stored: Vec<Role> = rows
                .iter()
                .map(|row| sql::decode_row(row, &|id: &str| key::by_id(&tenant, id)))
                .collect::<Result<_, _>>()?;
            let exists = stored.iter().any(|r| r.id == role.id);
            if create && exists {
                return Err(conflict(format!("role {} exists", role.id)));
            }
            if !create && !exists {
                return Err(conflict(format!("role {} does not exist", role.id)));
            }
            if create && stored.len() >= MAX_ROLES_PER_TENANT {
                return Err(conflict(format!("a tenant has at most {MAX_ROLES_PER_TENANT} roles")));
            }
            if stored.iter().any(|r| r.id != role.id && r.is_named(&role.name)) {
                return Err(conflict(format!("another role is named {}", role.name)));
            }
            let upsert = "INSERT INTO roles (tenant, id, name_key, record) VALUES ($1, $2, $3, $4)
                          ON CONFLICT (tenant, id) DO UPDATE SET name_key = excluded.name_key, record = excluded.record";
            tx.execute(upsert, &[&tenant, &role.id, &role.name.to_ascii_lowercase(), &record]).await?;
            let changes = vec![change(&tenant, ChangeKind::Role, &role.id)];
            db.record(&tx, &changes).await?;
            tx.commit().await?;
            Ok(((), changes))
        })
    }
}

impl RoleStore for PgStore {
    fn roles(&self, tenant: &str) -> Read<Arc<RoleSet>> {
        if key::tenant(tenant).is_none() {
            return Read::ready(Ok(Arc::default()));
        }
        if let Some(copy) = self.inner.caches.roles(tenant) {
            return Read::ready(Ok(copy));
        }
        let tenant = tenant.to_owned();
        self.read(|db| async move {
            let epoch = db.caches.epoch();
            let sql = "SELECT record, id FROM roles WHERE tenant = $1";
            let roles: Vec<Role> = fetch_all(&db, sql, &[&tenant], |id| key::by_id(&tenant, id)).await?;
            let roles = Arc::new(RoleSet::new(roles));
            db.caches.fill_roles(epoch, &tenant, &roles);
            Ok(roles)
        })
    }

    fn create_role(&self, role: &Role) -> Commit {
        self.put_role(role, true)
    }

    fn update_role(&self, role: &Role) -> Commit {
        self.put_role(role, false)
    }

    fn delete_role(&self, tenant: &str, id: &str) -> Commit {
        if key::by_id(tenant, id).is_none() {
            return done();
        }
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.write(move |db| async move {
            let mut client = db.client().await?;
            let tx = client.transaction().await?;
            // The role's row first: assignments in flight hold it, and finish before.
            tx.execute("DELETE FROM roles WHERE tenant = $1 AND id = $2", &[&tenant, &id]).await?;
            let holders = tx
                .query(
                    "DELETE FROM role_assignments WHERE tenant = $1 AND role_id = $2 RETURNING subject_kind, subject",
                    &[&tenant, &id],
                )
                .await?;
            let mut changes = vec![change(&tenant, ChangeKind::Role, &id)];
            for row in &holders {
                let kind = if row.get::<_, &str>(0) == "u" { ChangeKind::User } else { ChangeKind::Client };
                changes.push(change(&tenant, kind, row.get(1)));
            }
            db.record(&tx, &changes).await?;
            tx.commit().await?;
            Ok(((), changes))
        })
    }

    fn roles_of(&self, tenant: &str, subject: Subject<'_>) -> Read<Arc<Vec<String>>> {
        if key::tenant(tenant).is_none() {
            return Read::ready(Ok(Arc::default()));
        }
        let (kind, _, id, _) = subject_parts(subject);
        if !bindable(&id) {
            return Read::ready(Ok(Arc::default()));
        }
        let cache_key = crate::cache::subject_key(tenant, kind, &id);
        if let Some(copy) = self.inner.caches.assignments(&cache_key) {
            return Read::ready(Ok(copy));
        }
        let tenant = tenant.to_owned();
        self.read(move |db| async move {
            let epoch = db.caches.epoch();
            let client = db.client().await?;
            let sql = "SELECT role_id FROM role_assignments
                       WHERE tenant = $1 AND subject_kind = $2 AND subject = $3 ORDER BY role_id";
            let statement = client.prepare_cached(sql).await?;
            let rows = client.query(&statement, &[&tenant, &kind, &id]).await?;
            let ids: Arc<Vec<String>> = Arc::new(rows.iter().map(|row| row.get(0)).collect());
            db.caches.fill_assignments(epoch, cache_key, &ids);
            Ok(ids)
        })
    }

    fn assign_role(&self, tenant: &str, subject: Subject<'_>, role_id: &str) -> Commit {
        let (kind, lock_subject, id, change_kind) = subject_parts(subject);
        if key::by_id(tenant, &id).is_none() || key::by_id(tenant, role_id).is_none() {
            return failed_commit(tessera_core::store::StoreError::Conflict(
                "the role or its subject does not exist".into(),
            ));
        }
        let (tenant, role) = (tenant.to_owned(), role_id.to_owned());
        self.write(move |db| async move {
            let mut client = db.client().await?;
            let tx = client.transaction().await?;
            let role_row = tx.query_opt("SELECT 1 FROM roles WHERE tenant = $1 AND id = $2 FOR SHARE", &[&tenant, &role]).await?;
            if role_row.is_none() {
                return Err(conflict("the role does not exist"));
            }
            if tx.query_opt(lock_subject, &[&tenant, &id]).await?.is_none() {
                let what = if kind == "u" { "user" } else { "client" };
                return Err(conflict(format!("the {what} does not exist")));
            }
            let held: Vec<String> = tx
                .query(
                    "SELECT role_id FROM role_assignments WHERE tenant = $1 AND subject_kind = $2 AND subject = $3",
                    &[&tenant, &kind, &id],
                )
                .await?
                .iter()
                .map(|row| row.get(0))
                .collect();
            if held.contains(&role) {
                return Ok(((), Vec::new()));
            }
            if held.len() >= MAX_ROLES_PER_SUBJECT {
                return Err(conflict(format!("a user or client holds at most {MAX_ROLES_PER_SUBJECT} roles")));
            }
            tx.execute(
                "INSERT INTO role_assignments (tenant, subject_kind, subject, role_id) VALUES ($1, $2, $3, $4)",
                &[&tenant, &kind, &id, &role],
            )
            .await?;
            let changes = vec![change(&tenant, change_kind, &id)];
            db.record(&tx, &changes).await?;
            tx.commit().await?;
            Ok(((), changes))
        })
    }

    fn unassign_role(&self, tenant: &str, subject: Subject<'_>, role_id: &str) -> Commit {
        let (kind, _, id, change_kind) = subject_parts(subject);
        if key::tenant(tenant).is_none() || !bindable(&id) || !bindable(role_id) {
            return done();
        }
        let (tenant, role) = (tenant.to_owned(), role_id.to_owned());
        self.write(move |db| async move {
            let sql = "DELETE FROM role_assignments WHERE tenant = $1 AND subject_kind = $2 AND subject = $3 AND role_id = $4";
            let changes = vec![change(&tenant, change_kind, &id)];
            sql::execute(&db, sql, &[&tenant, &kind, &id, &role], &changes).await?;
            Ok(((), changes))
        })
    }
}
