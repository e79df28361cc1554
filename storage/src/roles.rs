//! [`RoleStore`] for [`FjallStore`]: a tenant's roles and a subject's role ids answered from
//! moka caches (both are read at every token issue) that the writer invalidates in the step
//! that makes a role or assignment write visible; the writes go to the writer's role
//! transactions (`writer::roles`). Also the role filter of the user listing, which walks the
//! role's members rather than the tenant's users.

use std::future::ready;
use std::sync::Arc;

use tessera_core::listing::{UserPage, UserQuery};
use tessera_core::model::{Role, User};
use tessera_core::rbac::RoleSet;
use tessera_core::store::{Commit, Read, RoleStore, StoreError, Subject, failed_commit};

use crate::codec;
use crate::keys::{self, Space};
use crate::reads::fill_page;
use crate::state::io;
use crate::store::{FjallStore, invalid};
use crate::writer::{Assignment, PutRole, WriteOp};

impl FjallStore {
    pub(crate) fn roles_now(&self, tenant: &str) -> Result<Arc<RoleSet>, StoreError> {
        let (Some(key), Some(prefix)) = (keys::tenant_key(tenant), keys::tenant_prefix(tenant)) else {
            return Ok(Arc::default());
        };
        if self.shared.is_deleting(tenant) {
            return Ok(Arc::default());
        }
        let set =
            self.shared.roles.get_or_load(&key, || Ok(Some(RoleSet::new(self.shared.scan(&prefix)?))))?;
        Ok(set.unwrap_or_default())
    }

    pub(crate) fn roles_of_now(
        &self,
        tenant: &str,
        subject: Subject<'_>,
    ) -> Result<Arc<Vec<String>>, StoreError> {
        let Some(prefix) = keys::subject_prefix(tenant, subject) else {
            return Ok(Arc::default());
        };
        if self.shared.is_deleting(tenant) {
            return Ok(Arc::default());
        }
        let ids = self.shared.assignments.get_or_load(&prefix, || {
            let mut ids = Vec::new();
            for guard in self.shared.space(Space::RoleGrants).prefix(&prefix) {
                let key = guard.key().map_err(io)?;
                // Ids are checked before they reach a key, so a role id reads back as text.
                if let Ok(id) = std::str::from_utf8(&key[prefix.len()..]) {
                    ids.push(id.to_owned());
                }
            }
            Ok(Some(ids))
        })?;
        Ok(ids.unwrap_or_default())
    }

    /// A page of the users assigned role `role`: its user members from just after the cursor,
    /// each read and matched against the other filters, stopping at one more match than the
    /// page holds.
    pub(crate) fn list_role_members(
        &self,
        tenant: &str,
        role: &str,
        query: &UserQuery,
    ) -> Result<UserPage, StoreError> {
        let Some(prefix) = keys::user_members_prefix(tenant, role) else { return Ok(UserPage::default()) };
        if self.shared.is_deleting(tenant) {
            return Ok(UserPage::default());
        }
        // An entry and its user's assignment are written and removed in one batch, and a
        // user's deletion removes both; an entry whose user is absent all the same is skipped.
        let users = self
            .shared
            .space(Space::RoleMembers)
            .range(keys::after_cursor(&prefix, query.after.as_deref())..)
            .map(|guard| guard.key().map_err(io))
            .take_while(|key| key.as_ref().map_or(true, |key| key.starts_with(&prefix)))
            .map(|key| {
                let key = key?;
                match std::str::from_utf8(&key[prefix.len()..]) {
                    Ok(id) => self.user_now(tenant, id),
                    Err(_) => Ok(None),
                }
            });
        fill_page(users, query)
    }

    /// Whether `user` holds role `role`, for a role filter combined with a name filter.
    pub(crate) fn holds_role(&self, user: &User, role: &str) -> Result<bool, StoreError> {
        match keys::assignment_keys(&user.tenant, Subject::User(&user.id), role) {
            Some((grant, _)) => self.shared.space(Space::RoleGrants).contains_key(&grant).map_err(io),
            None => Ok(false),
        }
    }

    fn put_role(&self, role: &Role, create: bool) -> Commit {
        let Some(key) = keys::role_key(&role.tenant, &role.id) else {
            return failed_commit(invalid(Space::Roles, "role"));
        };
        match codec::encode(&key, role) {
            Ok(value) => {
                self.submit(WriteOp::PutRole(Box::new(PutRole { key, value, role: role.clone(), create })))
            }
            Err(err) => failed_commit(err),
        }
    }
}

impl RoleStore for FjallStore {
    fn roles(&self, tenant: &str) -> Read<Arc<RoleSet>> {
        Read::ready(self.roles_now(tenant))
    }

    fn create_role(&self, role: &Role) -> Commit {
        self.put_role(role, true)
    }

    fn update_role(&self, role: &Role) -> Commit {
        self.put_role(role, false)
    }

    fn delete_role(&self, tenant: &str, id: &str) -> Commit {
        match keys::role_key(tenant, id) {
            Some(key) => self.submit(WriteOp::DeleteRole { key }),
            None => Box::pin(ready(Ok(()))),
        }
    }

    fn roles_of(&self, tenant: &str, subject: Subject<'_>) -> Read<Arc<Vec<String>>> {
        Read::ready(self.roles_of_now(tenant, subject))
    }

    fn assign_role(&self, tenant: &str, subject: Subject<'_>, role_id: &str) -> Commit {
        let record = match subject {
            Subject::User(id) => keys::user_key(tenant, id).map(|k| (Space::Users, k)),
            Subject::Client(id) => keys::client_key(tenant, id).map(|k| (Space::Clients, k)),
        };
        let (Some(subject_record), Some((grant, member)), Some(role)) =
            (record, keys::assignment_keys(tenant, subject, role_id), keys::role_key(tenant, role_id))
        else {
            // No role or subject can be stored under an invalid id.
            return failed_commit(StoreError::Conflict("the role or its subject does not exist".into()));
        };
        self.submit(WriteOp::Assign(Box::new(Assignment { grant, member, role, subject: subject_record })))
    }

    fn unassign_role(&self, tenant: &str, subject: Subject<'_>, role_id: &str) -> Commit {
        match keys::assignment_keys(tenant, subject, role_id) {
            Some((grant, member)) => self.submit(WriteOp::Unassign { grant, member }),
            None => Box::pin(ready(Ok(()))),
        }
    }
}
