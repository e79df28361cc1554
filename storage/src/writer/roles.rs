//! The transactions of roles and their assignments: a role's name unique per tenant (ASCII
//! case ignored) and its tenant's role count bounded, checked and written in one step; an
//! assignment only of a stored role to a stored subject, written with its by-role twin; and
//! the deletions that take assignments with them (a role's, a user's, a client's). Each reads
//! and writes in the writer thread, so no other write comes between; a refusal writes nothing.

use tessera_core::model::{MAX_ROLES_PER_SUBJECT, MAX_ROLES_PER_TENANT, Role};
use tessera_core::store::StoreError;

use super::round::Round;
use super::{Refusable, refusable, refuse_or};
use crate::keys::{self, Space};
use crate::state::io;

/// A role write: `role` encoded as `value` under `key`.
pub(crate) struct PutRole {
    pub(crate) key: Vec<u8>,
    pub(crate) value: Vec<u8>,
    pub(crate) role: Role,
    /// A create (the id must be free, the tenant stored and under its bound) rather than a
    /// change (the role must be stored).
    pub(crate) create: bool,
}

/// One assignment's keys, and the records it needs to exist.
pub(crate) struct Assignment {
    /// The [`Space::RoleGrants`] entry.
    pub(crate) grant: Vec<u8>,
    /// The [`Space::RoleMembers`] entry.
    pub(crate) member: Vec<u8>,
    /// The role's record key.
    pub(crate) role: Vec<u8>,
    /// The subject's record: its keyspace ([`Space::Users`] or [`Space::Clients`]) and key.
    pub(crate) subject: (Space, Vec<u8>),
}

fn conflict<T>(why: impl Into<String>) -> Refusable<T> {
    Ok(Err(StoreError::Conflict(why.into())))
}

/// Creates or changes a role ([`PutRole`]). The flush makes earlier writes of this round (a
/// role created just before, the tenant's own create) visible to the checks.
pub(super) fn put_role(round: &mut Round<'_>, put: PutRole) -> Refusable<()> {
    let PutRole { key, value, role, create } = put;
    round.flush()?;
    let shared = round.shared;
    if !shared.space(Space::Tenants).contains_key(role.tenant.as_bytes()).map_err(io)? {
        return conflict(format!("tenant {} does not exist", role.tenant));
    }
    let Some(prefix) = keys::tenant_prefix(&role.tenant) else {
        return conflict("the tenant id is not valid");
    };
    let stored = refuse_or!(refusable(shared.scan::<Role>(&prefix))?);
    let exists = stored.iter().any(|r| r.id == role.id);
    if create && exists {
        return conflict(format!("role {} exists", role.id));
    }
    if !create && !exists {
        return conflict(format!("role {} does not exist", role.id));
    }
    if create && stored.len() >= MAX_ROLES_PER_TENANT {
        return conflict(format!("a tenant has at most {MAX_ROLES_PER_TENANT} roles"));
    }
    if stored.iter().any(|r| r.id != role.id && r.is_named(&role.name)) {
        return conflict(format!("another role is named {}", role.name));
    }
    round.put(Space::Roles, key, value, None);
    Ok(Ok(()))
}

/// Deletes a role and all its assignments (found through its members).
pub(super) fn delete_role(round: &mut Round<'_>, key: Vec<u8>) -> Refusable<()> {
    round.flush()?;
    let mut prefix = key.clone();
    prefix.push(keys::SEP);
    delete_assignments(round, Space::RoleMembers, &prefix)?;
    round.delete(Space::Roles, key);
    Ok(Ok(()))
}

/// Deletes every assignment whose `by` entry begins with `prefix` ([`Space::RoleMembers`]
/// under a role, [`Space::RoleGrants`] under a subject), with its twin. Keys only.
pub(super) fn delete_assignments(round: &mut Round<'_>, by: Space, prefix: &[u8]) -> Result<(), StoreError> {
    let found = round
        .shared
        .space(by)
        .prefix(prefix)
        .map(|guard| guard.key().map_err(io))
        .collect::<Result<Vec<_>, _>>()?;
    for key in found {
        let (twin_space, twin) = if by == Space::RoleMembers {
            (Space::RoleGrants, keys::member_to_grant(&key))
        } else {
            (Space::RoleMembers, keys::grant_to_member(&key))
        };
        if let Some(twin) = twin {
            round.delete(twin_space, twin);
        }
        round.delete(by, key.to_vec());
    }
    Ok(())
}

/// Deletes the assignments of the user or client stored under `record_key` (`tenant \0 id`)
/// in `space`, as part of deleting it.
pub(super) fn delete_assignments_of(
    round: &mut Round<'_>,
    space: Space,
    record_key: &[u8],
) -> Result<(), StoreError> {
    let Some((tenant, id)) = keys::split_scoped(record_key) else { return Ok(()) };
    let tag = if space == Space::Users { b'u' } else { b'c' };
    let prefix = [tenant, &[keys::SEP, tag, keys::SEP], id, &[keys::SEP]].concat();
    delete_assignments(round, Space::RoleGrants, &prefix)
}

/// Assigns a role: both entries, if the role and the subject are stored and the subject is
/// under its bound. An assignment already there is left as it is.
pub(super) fn assign(round: &mut Round<'_>, assignment: Assignment) -> Refusable<()> {
    round.flush()?;
    let shared = round.shared;
    let Assignment { grant, member, role, subject: (subject_space, subject) } = assignment;
    if !shared.space(Space::Roles).contains_key(&role).map_err(io)? {
        return conflict("the role does not exist");
    }
    if !shared.space(subject_space).contains_key(&subject).map_err(io)? {
        let what = if subject_space == Space::Users { "user" } else { "client" };
        return conflict(format!("the {what} does not exist"));
    }
    if shared.space(Space::RoleGrants).contains_key(&grant).map_err(io)? {
        return Ok(Ok(()));
    }
    let Some(parts) = keys::split_grant(&grant) else {
        return conflict("not an assignment key");
    };
    let subject_prefix = &grant[..grant.len() - parts.role.len()];
    let held = shared.space(Space::RoleGrants).prefix(subject_prefix).take(MAX_ROLES_PER_SUBJECT).count();
    if held >= MAX_ROLES_PER_SUBJECT {
        return conflict(format!("a user or client holds at most {MAX_ROLES_PER_SUBJECT} roles"));
    }
    round.put(Space::RoleMembers, member, Vec::new(), None);
    round.put(Space::RoleGrants, grant, Vec::new(), None);
    Ok(Ok(()))
}

/// Removes an assignment's two entries.
pub(super) fn unassign(round: &mut Round<'_>, grant: Vec<u8>, member: Vec<u8>) -> Refusable<()> {
    round.delete(Space::RoleMembers, member);
    round.delete(Space::RoleGrants, grant);
    Ok(Ok(()))
}
