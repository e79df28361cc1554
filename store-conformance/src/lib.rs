//! tessera-store-conformance: every behaviour a backend of [`tessera_core::store::Store`] must
//! keep, written once and run against each backend (as rustls runs one provider test suite over
//! every crypto provider).
//!
//! A backend supplies a [`Harness`]: how to open its store on fresh data, reopen it, set its
//! clock and run its expiry. One line then instantiates the whole suite as `#[test]`s:
//!
//! ```ignore
//! tessera_store_conformance::store_conformance_tests!(fjall, FjallHarness::new());
//! ```
//!
//! expands to a module `fjall` with one submodule per record kind and one `#[test]` per case
//! (`fjall::codes::second_take_is_replayed`, ...), each building its own harness from the
//! expression and running the case on a two-worker tokio runtime.
//!
//! The cases assert only what the traits in `tessera_core::store` promise (or what the server
//! relies on and a second backend must therefore keep), never how a backend lays out its data:
//! on-disk layout and backend-only knobs stay in the backend's own tests.
//!
//! The list of cases is kept once, in [`__for_each_case`]; every case function is private to
//! this crate and reached only through that list, so a case missing from it is dead code and
//! fails the build under `-D warnings`.

// `unsafe_code`, `clippy::unwrap_used` and `missing_docs` come from the workspace lints.

mod cases;
mod fixtures;
mod harness;

pub use harness::{Harness, run};

/// Calls the macro named in brackets with `{ args }` followed by every case of the suite,
/// grouped by module: the one list of cases, shared by the exported wrappers and by
/// [`store_conformance_tests`]. Not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_case {
    ([$($callback:tt)*] { $($args:tt)* }) => {
        $($callback)*! { { $($args)* }
            codes {
                put_then_take_is_fresh_with_the_same_record,
                second_take_is_replayed,
                an_unknown_digest_is_unknown,
                an_expired_code_is_unknown,
                another_tenants_digest_is_unknown,
                of_concurrent_takes_exactly_one_is_fresh,
                a_used_code_stays_used_across_reopening,
                expired_codes_leave,
            }
            refresh {
                the_first_token_creates_the_family,
                the_current_token_rotates_and_its_successor_is_usable,
                a_retry_within_the_grace_period_is_retried_and_the_family_lives,
                a_use_after_the_grace_period_revokes_the_whole_family,
                without_grace_a_second_use_is_a_reuse,
                a_revoked_familys_tokens_are_unknown,
                a_tombstone_refuses_the_first_token,
                a_tombstone_leaves_after_it_expires,
                an_expired_token_is_unknown,
                another_tenants_token_is_unknown,
                of_concurrent_uses_exactly_one_rotates,
                of_concurrent_uses_within_grace_one_rotates_and_the_rest_retry,
                a_successor_outside_the_family_is_refused,
                rotations_and_revocations_survive_reopening,
                expired_tokens_and_families_leave,
                revoking_a_users_families_revokes_every_one_and_no_other,
                a_family_founded_after_revoking_a_users_families_lives,
                a_users_revoked_families_are_kept_until_until_and_survive_reopening,
                a_subjects_live_families_are_listed_in_family_order,
                revoked_and_expired_families_are_not_listed,
            }
            sessions {
                sessions_round_trip,
                a_session_is_not_returned_from_its_expiry,
                a_new_login_replaces_the_session,
                deleting_a_session_ends_it,
                another_tenant_cannot_see_or_end_a_session,
                sessions_survive_reopening,
                expired_sessions_leave,
                ending_a_users_sessions_ends_every_one_of_them_and_no_other,
                a_session_of_another_user_under_the_same_cookie_is_not_ended,
                sessions_put_after_ending_live_and_the_end_survives_reopening,
            }
            consents {
                consents_round_trip_keyed_by_tenant_user_and_client,
                a_consent_is_replaced,
                deleting_a_user_deletes_its_consents,
                deleting_a_client_deletes_its_consents,
                deleting_a_tenant_deletes_its_consents,
                consents_survive_reopening,
            }
            users {
                users_round_trip_and_list_by_username,
                lookups_by_username_and_email_ignore_case,
                a_taken_username_conflicts_regardless_of_case,
                a_taken_email_conflicts_regardless_of_case,
                usernames_and_emails_share_one_namespace,
                another_tenant_may_use_the_same_names,
                rewriting_a_user_with_its_own_names_is_no_conflict,
                a_rename_frees_the_old_names,
                deleting_a_user_frees_its_names,
                of_concurrent_claims_of_one_name_exactly_one_wins,
                invalid_users_are_refused,
                users_and_their_names_survive_reopening,
                names_are_the_same_under_nfkc_case_folding_and_nothing_else,
            }
            user_pages {
                pages_follow_id_order_and_walk_the_tenant_once,
                a_walk_meets_every_user_stored_throughout_exactly_once,
                pages_filter_by_username_email_and_disabled,
                a_users_disabled_state_and_cut_off_are_kept,
            }
            assertions {
                the_first_use_is_first_and_a_replay_is_not,
                of_concurrent_uses_exactly_one_is_first,
                a_use_survives_reopening,
                tenants_are_kept_apart,
                an_expired_use_guards_nothing_and_leaves,
                a_tenants_deletion_forgets_its_uses,
                an_invalid_tenant_is_refused,
            }
            federation {
                links_round_trip_and_an_absent_link_is_none,
                tenants_and_identity_providers_are_kept_apart,
                a_second_create_returns_the_first_and_changes_nothing,
                of_concurrent_creates_exactly_one_is_created,
                deleting_a_link_removes_it_and_a_create_works_again,
                deleting_a_user_deletes_its_links_and_no_other,
                deleting_a_tenant_deletes_its_links,
                a_users_links_are_exactly_its_own_in_order,
                links_and_their_deletions_survive_reopening,
                invalid_links_are_refused_and_impossible_ids_read_as_absent,
            }
            lockouts {
                a_lockout_reads_back_live_and_survives_reopening,
                a_later_lockout_of_the_same_key_replaces_the_earlier,
                an_expired_lockout_is_not_live_and_leaves,
                another_tenants_lockouts_are_kept_apart,
                an_invalid_lockout_is_refused,
            }
            api_keys {
                api_keys_round_trip_in_id_order_and_survive_reopening,
                a_key_needs_its_tenant_and_a_free_id,
                a_revoked_key_is_never_revived_by_a_late_write,
            }
            roles {
                roles_round_trip_and_changes_are_read_back_at_once,
                a_taken_role_name_conflicts_regardless_of_case_and_writes_nothing,
                a_role_needs_its_tenant_and_a_change_needs_the_role,
                of_concurrent_creates_of_one_name_exactly_one_wins,
                assignments_need_a_stored_role_and_subject_and_are_idempotent,
                a_subject_holds_a_bounded_number_of_roles,
                deleting_a_role_unassigns_it_and_a_new_role_of_its_name_is_nobodys,
                deleting_a_user_or_a_client_takes_its_assignments,
                the_role_filter_pages_through_the_roles_users,
                role_and_assignment_writes_are_heard,
            }
            records {
                tenants_round_trip_ordered_by_id,
                clients_round_trip_ordered_by_id,
                a_replaced_client_is_read_back_at_once,
                a_clients_cut_off_is_read_back_at_once_and_survives_reopening,
                keys_round_trip_oldest_first,
                keys_keep_their_material_of_every_kind,
                unknown_ids_read_as_absent,
                ids_with_a_nul_read_as_absent,
                clients_and_keys_of_another_tenant_are_invisible,
                opaque_tokens_round_trip_and_are_deleted,
                opaque_tokens_of_another_tenant_are_invisible,
                expired_opaque_tokens_leave,
                a_revoked_jti_is_on_the_deny_list_until_its_exp,
                the_deny_list_is_per_tenant,
                expired_revocations_leave,
                a_record_rewritten_with_a_later_expiry_outlives_the_first,
            }
            creation {
                a_taken_tenant_id_conflicts_and_changes_nothing,
                of_concurrent_tenant_creates_exactly_one_wins,
                a_deleted_tenant_can_be_created_again_and_starts_empty,
                a_taken_client_id_conflicts_and_changes_nothing,
                of_concurrent_client_creates_exactly_one_wins,
                a_client_needs_a_stored_tenant,
            }
            rotation {
                a_first_key_is_stored_only_while_none_is_current,
                a_rotation_retires_the_expected_key_and_makes_the_new_one_current,
                a_stale_rotation_conflicts_and_writes_nothing,
                a_key_needs_a_stored_tenant,
                of_concurrent_first_keys_exactly_one_wins,
                of_concurrent_rotations_exactly_one_wins,
            }
            tenancy {
                deleting_a_tenant_removes_every_kind_of_its_records,
                deleting_a_tenant_leaves_other_tenants_whole,
                a_recreated_tenant_starts_empty,
            }
            durability {
                every_acknowledged_kind_of_record_survives_reopening,
                deletions_survive_reopening,
            }
            events {
                events_are_listed_newest_first_and_survive_reopening,
                filters_select_by_type_actor_and_time,
                a_walk_of_pages_meets_each_event_once,
                events_are_per_tenant_and_need_a_stored_tenant,
                deleting_a_tenant_deletes_its_events,
                events_leave_after_their_tenants_retention,
            }
            changes {
                puts_of_each_kind_are_heard_by_the_time_they_commit,
                deletions_of_each_kind_are_heard_by_the_time_they_commit,
                revoking_an_opaque_token_is_heard_and_issuing_it_is_not,
                a_refused_write_is_not_heard,
                deleting_a_tenant_is_heard_as_one_tenant_change,
                every_listener_hears_every_change,
            }
        }
    };
}

/// The exported wrappers, one per case: each runs its case on [`run`]'s runtime. Generated
/// from the list so that a private case function not on it is never used (a build error).
macro_rules! export_cases {
    ({} $($module:ident { $($case:ident),* $(,)? })*) => {
        /// The cases, for [`store_conformance_tests`]. Not for direct use.
        #[doc(hidden)]
        pub mod __cases {
            $(
                /// Cases of one record kind.
                pub mod $module {
                    $(
                        /// Runs this case against the harness's backend.
                        pub fn $case<H: $crate::Harness>(harness: &H) {
                            $crate::run($crate::cases::$module::$case(harness));
                        }
                    )*
                }
            )*
        }
    };
}

__for_each_case! { [export_cases] {} }

/// Instantiates the suite for one backend: `store_conformance_tests!(name, harness)` expands to
/// `mod name` with one `#[test]` per case; `harness` is an expression building a fresh
/// [`Harness`] (evaluated once per test, in the scope of the invocation).
#[macro_export]
macro_rules! store_conformance_tests {
    ($name:ident, $harness:expr $(,)?) => {
        $crate::__for_each_case! { [$crate::__instantiate_cases] { $name, $harness } }
    };
}

/// The body of [`store_conformance_tests`]. Not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __instantiate_cases {
    ({ $name:ident, $harness:expr } $($module:ident { $($case:ident),* $(,)? })*) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn harness() -> impl $crate::Harness {
                $harness
            }

            $(
                mod $module {
                    $(
                        #[test]
                        fn $case() {
                            $crate::__cases::$module::$case(&super::harness());
                        }
                    )*
                }
            )*
        }
    };
}
