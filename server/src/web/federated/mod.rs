//! Signing in at an external identity provider (`crate::federation`): `start` sends the
//! browser to the provider with a code-flow request bound to a sealed cookie (from the login
//! page's provider buttons, or at once for an `idp_hint` or a `login_hint` in a provider's
//! domain); `callback` takes the browser back at `/t/{tenant}/federation/{idp}/callback`,
//! checks the cookie and `state`, records the `state` as used, exchanges the code, verifies
//! the ID token, finds or makes the local user, starts a local session (`amr` `fed`) and
//! resumes the original authorization.
//!
//! Until the original authorization request is validated again, failures are pages (an
//! unknown, expired or replayed `state`, a malformed callback); from then on they go to the
//! client's redirect URI as OAuth errors (the provider refused, could not be reached within
//! its timeout, or answered with something that does not verify), never a hang or a 500.
//!
//! Two files, so that the step that ends in the authorization's next step (`callback`, which
//! calls `web::interaction`) and the step `web::interaction` may take (`start`) do not import
//! each other.

pub mod callback;
pub mod start;
