//! The direct authorisation API (Connect2id direct-authz v2): a broker that authenticated an
//! end-user itself asks for tokens, and optionally an SSO session, without the authorization
//! and token endpoints. This module owns the protocol: the request read from its JSON body
//! into typed values ([`request`]), the decisions over the records the server fetched
//! ([`decide`]), what is released at the userinfo endpoint ([`userinfo`]), and the errors with their Connect2id status codes ([`error`]). The server
//! authenticates the caller, fetches, signs, stores and answers.

pub mod decide;
pub mod error;
pub mod grant;
pub mod request;
pub mod userinfo;

pub use decide::{Decision, decide, id_token_extra_claims};
pub use error::DirectAuthzError;
pub use request::{
    AccessTokenSpec, ClaimsTransport, DirectAuthzRequest, Encoding, SubSession, SubjectSpec, parse,
};
pub use userinfo::UserinfoRelease;

/// The `validator` of tokens whose subject is no local user: the broker calling the direct
/// authorisation API vouched for it, so its tokens are not held to a local user's standing (as
/// with identity validators and trusted issuers), and its userinfo is what the broker preset.
pub const BROKER_VALIDATOR: &str = "direct-authz";

/// Largest request body the API reads: far above any real authorisation request (scopes,
/// claims and `data` included), small enough that a flood of them holds little memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
