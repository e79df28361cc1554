//! Tessera's protocol core: OAuth 2.0 and OpenID Connect without I/O.
//!
//! Requests arrive here as bytes and leave as typed values or an [`error::OAuthError`]; grant
//! handlers are plain functions over the [`store`] and [`signer`] traits. Nothing in this crate
//! touches a socket, a file or a clock: time and randomness are passed in.

pub mod admin_access;
pub mod audit;
pub mod authorize;
pub mod changes;
pub mod client_auth;
pub mod direct_authz;
pub mod discovery;
pub mod error;
pub mod federation;
pub mod form;
pub mod grants;
pub mod id_token;
pub mod interaction;
pub mod introspection;
pub mod jwk;
pub mod jwt;
pub mod listing;
pub mod model;
pub mod password_policy;
pub mod pkce;
pub mod rbac;
pub mod registration;
pub mod resource;
pub mod revocation;
pub mod rules;
pub mod scope;
pub mod secret;
pub mod signer;
pub mod store;
pub mod token;
pub mod userinfo;
