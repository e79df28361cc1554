//! The read paths of [`FjallStore`], answered at once from the record caches, the in-memory deny
//! list's fingerprints and fjall; the `tessera_core::store` trait impls in `store` wrap each in a ready `Read`.
//! A tenant being deleted reads as absent in every one of them.

use std::sync::Arc;

use tessera_core::audit::{EventPage, EventQuery, PageBuilder, Scan};
use tessera_core::listing::{UserPage, UserQuery};
use tessera_core::model::{
    Client, KeyRecord, OpaqueToken, RefreshToken, Revocation, Session, Tenant, UnixSecs, User,
};
use tessera_core::rules::refresh;
use tessera_core::store::{FamilyStatus, FoundRefresh, JwtStatus, StoreError};

use crate::codec::{self, StoredFamily};
use crate::keys::{self, Space};
use crate::state::{Stored, io};
use crate::store::FjallStore;

/// A page of the users `users` yields (in id order, from just after the query's cursor; `None`
/// for an entry whose user is gone), keeping those the query matches and stopping at one more
/// match than the page holds: only the page is ever held in memory.
pub(crate) fn fill_page(
    users: impl Iterator<Item = Result<Option<User>, StoreError>>,
    query: &UserQuery,
) -> Result<UserPage, StoreError> {
    let mut candidates = Vec::new();
    for user in users {
        let Some(user) = user? else { continue };
        if query.is_after_cursor(&user.id) && query.matches(&user) {
            candidates.push(user);
            if candidates.len() > query.page_size() {
                break;
            }
        }
    }
    Ok(UserPage::from_candidates(candidates, query))
}

impl FjallStore {
    /// Reads a record of a tenant that is not being deleted.
    pub(crate) fn read<T: Stored>(
        &self,
        tenant: &str,
        key: Option<Vec<u8>>,
    ) -> Result<Option<T>, StoreError> {
        match key {
            Some(key) if !self.shared.is_deleting(tenant) => self.shared.get(&key),
            _ => Ok(None),
        }
    }

    /// The user an index entry points at. Index and record are written in one batch, so an
    /// entry without its record is only left by a user that was corrupt when deleted: absent.
    pub(crate) fn user_by_index(
        &self,
        space: Space,
        tenant: &str,
        value: &str,
    ) -> Result<Option<User>, StoreError> {
        let Some(index_key) = keys::folded_key(tenant, value) else {
            return Ok(None);
        };
        if self.shared.is_deleting(tenant) {
            return Ok(None);
        }
        let Some(id) = self.shared.space(space).get(&index_key).map_err(io)? else {
            return Ok(None);
        };
        let id = codec::decode_index(space, &index_key, &id)?;
        self.user_now(tenant, &id)
    }

    pub(crate) fn tenant_now(&self, id: &str) -> Result<Option<Arc<Tenant>>, StoreError> {
        let Some(key) = keys::tenant_key(id) else {
            return Ok(None);
        };
        if self.shared.is_deleting(id) {
            return Ok(None);
        }
        self.shared.tenants.get_or_load(&key, || self.shared.get(&key))
    }

    pub(crate) fn tenants_now(&self) -> Result<Vec<Tenant>, StoreError> {
        let mut tenants = self.shared.scan::<Tenant>(&[])?;
        tenants.retain(|t| !self.shared.is_deleting(&t.id));
        Ok(tenants)
    }

    pub(crate) fn client_now(
        &self,
        tenant: &str,
        client_id: &str,
    ) -> Result<Option<Arc<Client>>, StoreError> {
        let Some(key) = keys::client_key(tenant, client_id) else {
            return Ok(None);
        };
        if self.shared.is_deleting(tenant) {
            return Ok(None);
        }
        self.shared.clients.get_or_load(&key, || self.shared.get(&key))
    }

    /// Every record of one kind of a tenant that is not being deleted, in key order.
    pub(crate) fn all_of<T: Stored>(&self, tenant: &str) -> Result<Vec<T>, StoreError> {
        match keys::tenant_prefix(tenant) {
            Some(prefix) if !self.shared.is_deleting(tenant) => self.shared.scan(&prefix),
            _ => Ok(Vec::new()),
        }
    }

    pub(crate) fn clients_now(&self, tenant: &str) -> Result<Vec<Client>, StoreError> {
        self.all_of(tenant)
    }

    pub(crate) fn keys_now(&self, tenant: &str) -> Result<Vec<KeyRecord>, StoreError> {
        let mut keys: Vec<KeyRecord> = self.all_of(tenant)?;
        keys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.kid.cmp(&b.kid)));
        Ok(keys)
    }

    pub(crate) fn opaque_token_now(
        &self,
        tenant: &str,
        digest: &[u8; 32],
    ) -> Result<Option<OpaqueToken>, StoreError> {
        self.read(tenant, keys::scoped_key(tenant, digest))
    }

    /// Answered from memory unless the deny list holds the token's fingerprint; then the
    /// revocation record decides (see `deny`).
    pub(crate) fn jwt_status_now(&self, tenant: &str, jti: &str) -> Result<JwtStatus, StoreError> {
        let now = self.shared.now();
        if self.shared.is_deleting(tenant) || !self.shared.deny.may_contain(tenant, jti, now) {
            return Ok(JwtStatus::NotRevoked);
        }
        let Some(key) = keys::scoped_key(tenant, jti.as_bytes()) else {
            return Ok(JwtStatus::NotRevoked);
        };
        let revoked = match self.shared.space(Space::Revocations).get(&key).map_err(io)? {
            None => false,
            Some(bytes) => match codec::decode::<Revocation>(&key, &bytes) {
                Ok(revocation) => revocation.exp > now,
                // As when the list is loaded: a record that does not decode keeps its token
                // revoked rather than silently letting it back in.
                Err(_) => true,
            },
        };
        Ok(if revoked { JwtStatus::Revoked } else { JwtStatus::NotRevoked })
    }

    pub(crate) fn user_now(&self, tenant: &str, id: &str) -> Result<Option<User>, StoreError> {
        self.read(tenant, keys::user_key(tenant, id))
    }

    pub(crate) fn users_now(&self, tenant: &str) -> Result<Vec<User>, StoreError> {
        let mut users: Vec<User> = self.all_of(tenant)?;
        users.sort_by(|a, b| a.username.cmp(&b.username).then_with(|| a.id.cmp(&b.id)));
        Ok(users)
    }

    /// A page of users: through the name index when the query names a username or address
    /// (at most one user), through the role's members when it names a role, else a range scan of the tenant's users from just after the cursor
    /// that stops at one more match than the page holds. A filter that matches few users
    /// (`disabled`) may walk many records for one page, but holds only the page in memory.
    pub(crate) fn list_users_now(&self, tenant: &str, query: &UserQuery) -> Result<UserPage, StoreError> {
        let wanted = |u: &User| query.is_after_cursor(&u.id) && query.matches(u);
        let indexed = match (&query.username, &query.email) {
            (Some(username), _) => Some(self.user_by_index(Space::UserNames, tenant, username)?),
            (None, Some(email)) => Some(self.user_by_index(Space::UserEmails, tenant, email)?),
            (None, None) => None,
        };
        if let Some(found) = indexed {
            let found = match (found, &query.role) {
                (Some(user), Some(role)) if !self.holds_role(&user, role)? => None,
                (found, _) => found,
            };
            return Ok(UserPage::from_candidates(found.into_iter().filter(wanted).collect(), query));
        }
        if let Some(role) = &query.role {
            return self.list_role_members(tenant, role, query);
        }
        let Some(prefix) = keys::tenant_prefix(tenant) else { return Ok(UserPage::default()) };
        if self.shared.is_deleting(tenant) {
            return Ok(UserPage::default());
        }
        let users = self
            .shared
            .space(Space::Users)
            .range(keys::after_cursor(&prefix, query.after.as_deref())..)
            .map(|guard| guard.into_inner().map_err(io))
            .take_while(|entry| entry.as_ref().map_or(true, |(key, _)| key.starts_with(&prefix)))
            .map(|entry| entry.and_then(|(key, value)| codec::decode(&key, &value).map(Some)));
        fill_page(users, query)
    }

    /// A page of a tenant's audit events, newest first (see `tessera_core::audit`): a reverse
    /// scan of the tenant's range between the query's bounds, stopped by the page builder.
    pub(crate) fn list_events_now(&self, tenant: &str, query: &EventQuery) -> Result<EventPage, StoreError> {
        let Some(prefix) = keys::tenant_prefix(tenant) else { return Ok(EventPage::default()) };
        if self.shared.is_deleting(tenant) {
            return Ok(EventPage::default());
        }
        let mut low = prefix.clone();
        low.extend_from_slice(query.lowest_id().unwrap_or_default().as_bytes());
        let high = match query.below_id() {
            Some(below) => [&prefix[..], below.as_bytes()].concat(),
            // Just past every key of the tenant: ids hold no byte below `1`.
            None => [tenant.as_bytes(), &[keys::SEP + 1]].concat(),
        };
        if low >= high {
            return Ok(EventPage::default());
        }
        let mut page = PageBuilder::new(query);
        for guard in self.shared.space(Space::Events).range(low..high).rev() {
            let (key, value) = guard.into_inner().map_err(io)?;
            if page.offer(codec::decode(&key, &value)?) == Scan::Done {
                break;
            }
        }
        Ok(page.finish())
    }

    pub(crate) fn session_now(
        &self,
        tenant: &str,
        digest: &[u8; 32],
        now: UnixSecs,
    ) -> Result<Option<Session>, StoreError> {
        let session: Option<Session> = self.read(tenant, keys::scoped_key(tenant, digest))?;
        // Expired but not swept yet reads as gone.
        Ok(session.filter(|s| s.expires_at > now))
    }

    pub(crate) fn refresh_token_now(
        &self,
        tenant: &str,
        digest: &[u8; 32],
        now: UnixSecs,
    ) -> Result<Option<FoundRefresh>, StoreError> {
        let token: Option<RefreshToken> = self.read(tenant, keys::scoped_key(tenant, digest))?;
        let Some(token) = token.filter(|t| refresh::is_usable(t, now)) else {
            return Ok(None);
        };
        // A family that is gone or expired was revoked and swept, or the tenant is going.
        let family: Option<StoredFamily> = self.read(tenant, keys::family_key(tenant, &token.family))?;
        let family = if refresh::is_revoked(family.as_ref(), now) {
            FamilyStatus::Revoked
        } else {
            FamilyStatus::Live
        };
        Ok(Some(FoundRefresh { token, family }))
    }

    /// The live families of end-user `sub` in `tenant`, in family id order: a prefix scan of
    /// the subject's [`Space::FamilyUsers`] entries (`tenant \0 sub \0 family`; family ids hold
    /// no separator, so key order under the prefix is family id order), each family record
    /// read and kept while live and naming `sub`. Expired families the sweeper has not removed
    /// yet are left out by their `expires_at`. An entry whose family is gone or names another
    /// subject is not expected (entries are written and removed with their family record) and
    /// is skipped, not deleted: a read never writes, and `revoke_families_of_user` drops such
    /// entries when it walks them. A family record that does not decode fails the read as
    /// corrupt, as every other read of it does, rather than being listed or hidden.
    pub(crate) fn families_of_subject_now(
        &self,
        tenant: &str,
        sub: &str,
        now: UnixSecs,
    ) -> Result<Vec<StoredFamily>, StoreError> {
        let Some(prefix) = keys::by_user_prefix(tenant, sub) else {
            return Ok(Vec::new());
        };
        if self.shared.is_deleting(tenant) {
            return Ok(Vec::new());
        }
        let mut families = Vec::new();
        for guard in self.shared.space(Space::FamilyUsers).prefix(&prefix) {
            let entry = guard.key().map_err(io)?;
            let Some(key) = keys::family_of_user_entry(&entry) else {
                continue;
            };
            if let Some(family) = self.shared.get::<StoredFamily>(&key)?
                && family.sub.as_deref() == Some(sub)
                && family.is_live(now)
            {
                families.push(family);
            }
        }
        Ok(families)
    }
}
