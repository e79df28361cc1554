//! The cases, one module per kind of record (audit events included; plus tenancy and
//! durability, which span them, and the change feed).
//! Each case is an `async fn(&impl Harness)` that starts from a fresh store and panics on any
//! behaviour the store's contract forbids. They are reached only through the list in
//! `__for_each_case!` (see the crate doc).

pub(crate) mod api_keys;
pub(crate) mod assertions;
pub(crate) mod changes;
pub(crate) mod codes;
pub(crate) mod consents;
pub(crate) mod creation;
pub(crate) mod durability;
pub(crate) mod events;
mod every_kind;
pub(crate) mod federation;
pub(crate) mod lockouts;
pub(crate) mod records;
pub(crate) mod refresh;
pub(crate) mod roles;
pub(crate) mod rotation;
pub(crate) mod sessions;
pub(crate) mod tenancy;
pub(crate) mod user_pages;
pub(crate) mod users;
