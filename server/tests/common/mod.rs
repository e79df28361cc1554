//! The integration-test harness: starts the real `tessera` binary and talks HTTP to it through
//! one small helper per area, so the server can be reshaped without rewriting the tests. One
//! file per area, everything re-exported here (tests write `common::TestServer`,
//! `common::form_body`, ...):
//!
//! - `process.rs`: server process control. [`TestServer`] start (with [`Options`]: admin key
//!   from the environment or generated, `--public-url`, extra flags and environment), `kill9`,
//!   `terminate` (SIGTERM), `restart` on the same data dir and port, `start_failure` /
//!   `restart_failure` for starts that must fail, `assert_alive`; [`both_backends!`] runs one
//!   async test body once with software keys and once with SoftHSM2.
//! - `values.rs`: plain values ([`now_secs`], [`random_string`]) and the form and Basic
//!   encodings ([`form_body`], [`basic_auth`]).
//! - `http.rs`: replies and HTTP. [`Reply`] (status, headers, body as text and JSON, and its
//!   assertions), raw requests (`send`, `send_with` a client from another loopback address
//!   such as 127.0.0.2, HTTP/2 `h2_get`), the back-channel endpoints
//!   (`token_basic`, `token_post`, `introspect`, `revoke`, `jwks`, `discovery`), [`join_all`].
//! - `admin.rs`: the admin API (`create_tenant`, `create_client`, `create_user`,
//!   `put_settings`, `rotate_keys`, ...).
//! - `jwt.rs`: JWT and JWKS checks ([`verify_jwt`], [`verify_id_token`], `at_hash`,
//!   [`assert_no_private_material`]).
//! - `end_user.rs`: the end-user driver. [`EndUser`], a cookie-keeping browser for a tenant,
//!   from 127.0.0.1 or (`from_address`) another loopback address (`authorize`, `login`,
//!   `consent`, `sign_in`, `code`, `pkce_code`, `tokens`); the page and redirect
//!   checks ([`expect_page`], [`redirect_params`]); and, for a code-flow [`Client`], the steps
//!   after the login (`exchange`, `refresh`, `userinfo`, `verify_id_token`).
//! - `cluster.rs`: several nodes on one PostgreSQL database ([`Cluster`]), a database per
//!   test ([`TestDatabase`]) and a cluster of the test's own that it may stop ([`OwnCluster`]).
//! - `validator.rs`: [`MockValidator`], an identity validator on 127.0.0.1 whose answer the
//!   test sets (accept, reject, fail, hang) and which records every call.
//! - `browser.rs` (not a module of this one: `browser_login.rs` includes it by path): a real
//!   headless Chromium through chromedriver.

#![allow(dead_code, unused_imports, clippy::unwrap_used)]

mod admin;
mod cluster;
mod end_user;
mod http;
mod jwt;
mod process;
mod validator;
mod values;

pub use admin::*;
pub use cluster::*;
pub use end_user::*;
pub use http::*;
pub use jwt::*;
pub(crate) use process::both_backends;
pub use process::*;
pub use validator::*;
pub use values::*;
