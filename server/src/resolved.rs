//! The cache of subjects' resolved entitlements that `entitlements::of` keeps: a leaf the
//! shared state holds.

use std::sync::Arc;

use tessera_core::rbac::{Entitlements, RoleSet};

/// Subjects whose entitlements are remembered, at most.
const RESOLVED_ENTRIES: u64 = 100_000;

/// A subject's entitlements and the store values they were resolved from.
pub struct Resolved {
    /// The subject's role ids, as the store's cache handed them out.
    pub ids: Arc<Vec<String>>,
    /// The tenant's roles, likewise.
    pub set: Arc<RoleSet>,
    /// What they add up to.
    pub held: Arc<Entitlements>,
}

/// Entitlements resolved per subject, keyed `tenant \0 u|c \0 id`.
pub type ResolvedCache = moka::sync::Cache<Box<str>, Arc<Resolved>>;

/// An empty cache of resolved entitlements.
pub fn resolved_cache() -> ResolvedCache {
    moka::sync::Cache::new(RESOLVED_ENTRIES)
}
