//! Deleting a tenant with everything it owns, a bounded chunk per round so one large tenant
//! does not stall every other write; the engine holds back writes to the tenant meanwhile. The
//! change feed hears the deletion once, as a tenant change with its last chunk.

use tessera_core::changes::Change;
use tessera_core::store::StoreError;

use super::Done;
use super::expiry::stored_exp;
use super::round::Round;
use crate::keys::{self, Space};
use crate::state::io;

/// A tenant deletion in progress.
pub(super) struct Deletion {
    pub(super) tenant: Box<[u8]>,
    /// Index into [`DELETE_ORDER`] of the keyspace being emptied.
    pub(super) stage: usize,
    /// Completed when the last chunk is durable.
    pub(super) waiters: Vec<Done>,
}

/// The tenant record goes last: a crash part-way leaves the tenant in place (and its
/// `delete_tenant` unacknowledged, so it is retried), never a half-deleted tenant that a
/// re-created one of the same id would inherit.
const DELETE_ORDER: [Space; 25] = [
    Space::Clients,
    Space::Keys,
    Space::Tokens,
    Space::Revocations,
    Space::Users,
    Space::UserNames,
    Space::UserEmails,
    Space::Codes,
    Space::Sessions,
    Space::Consents,
    Space::ConsentClients,
    Space::RefreshTokens,
    Space::RefreshFamilies,
    Space::SessionUsers,
    Space::FamilyUsers,
    Space::Roles,
    Space::RoleGrants,
    Space::RoleMembers,
    Space::ApiKeys,
    Space::Events,
    Space::Lockouts,
    Space::Assertions,
    Space::FederatedLinks,
    Space::FederatedLinkUsers,
    Space::Tenants,
];

/// Deletes up to `budget` records of a tenant; returns whether the tenant is gone.
pub(super) fn delete_chunk(
    round: &mut Round<'_>,
    deletion: &mut Deletion,
    budget: usize,
) -> Result<bool, StoreError> {
    let shared = round.shared;
    let heard = round.heard();
    let mut budget = budget.max(1);
    let mut prefix = deletion.tenant.to_vec();
    prefix.push(keys::SEP);
    while budget > 0 {
        let Some(&space) = DELETE_ORDER.get(deletion.stage) else {
            break;
        };
        if space == Space::Tenants {
            round.delete(space, deletion.tenant.to_vec());
            deletion.stage += 1;
            break;
        }
        let mut taken = 0;
        for guard in shared.space(space).prefix(&prefix).take(budget) {
            let (key, value) = guard.into_inner().map_err(io)?;
            if let Some(kind) = space.expiry_kind()
                && let Some(exp) = stored_exp(kind, &key, &value)
            {
                round.batch.remove(shared.space(Space::Expiry), keys::expiry_key(exp, kind, &key));
            }
            round.delete(space, key.to_vec());
            taken += 1;
        }
        if taken < budget {
            deletion.stage += 1;
        }
        budget -= taken;
    }
    // The next chunk's scan must not see this chunk's records again.
    round.flush()?;
    let done = deletion.stage >= DELETE_ORDER.len();
    // Listeners drop the whole tenant on one change; one per record would be noise.
    let tenant = done.then(|| Change::tenant(&String::from_utf8_lossy(&deletion.tenant)));
    round.unhear_since(heard, tenant);
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyspace_of_a_tenant_is_emptied_once_and_the_tenant_goes_last() {
        for space in Space::ALL {
            let times = DELETE_ORDER.iter().filter(|s| **s == space).count();
            // The expiry index is not a tenant's: its entries go with their records.
            let expected = usize::from(space != Space::Expiry);
            assert_eq!(times, expected, "{space:?}");
        }
        assert_eq!(DELETE_ORDER.last(), Some(&Space::Tenants));
    }
}
