//! One direct authorisation, after the caller was authenticated and the body parsed: the
//! client and the subject are looked up (a disabled local user is refused; a subject that is no
//! local user is a federated one the broker vouches for), `core` decides, and only then is
//! anything written: the new SSO session (the very record the login page makes, so its
//! `sub_sid` works as the tenant's session cookie), the access token (signed, optionally
//! JWE-encrypted, or stored as an identifier), the refresh token, the ID token.

use serde::Serialize;
use tessera_core::direct_authz::userinfo::named_claims;
use tessera_core::direct_authz::{
    BROKER_VALIDATOR, ClaimsTransport, Decision, DirectAuthzError, DirectAuthzRequest, SubjectSpec, decide,
    grant, id_token_extra_claims,
};
use tessera_core::error::OAuthError;
use tessera_core::id_token::{self, ID_TOKEN_TYP, IdTokenClaims};
use tessera_core::jwt::AccessTokenClaims;
use tessera_core::model::{
    AccessTokenFormat, Authentication, Client, DirectGrant, RefreshToken, Session, Standing, UnixSecs, User,
};
use tessera_core::secret;
use tessera_core::store::{StoreError, Subject};

use crate::app::{App, TenantCx};
use crate::grants::fresh_jti;
use crate::util::{now, random};
use crate::{entitlements, issue};

/// The answer (Connect2id's direct authorisation response).
#[derive(Debug, Serialize)]
pub struct Answer {
    access_token: String,
    token_type: &'static str,
    expires_in: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_sid: Option<String>,
}

/// Who the authorisation is for, once looked up.
struct Subjected {
    /// The authorised subject.
    sub: String,
    /// The local user it is, if any.
    user: Option<User>,
    /// The session behind it: an existing one, or one to create.
    session: Option<SessionPlan>,
}

enum SessionPlan {
    Existing(Authentication),
    /// A new session, with the broker's data (JSON text of an object) to keep with it.
    New(Authentication, Option<String>),
}

fn server(err: impl std::fmt::Display) -> DirectAuthzError {
    DirectAuthzError::Server(err.to_string())
}

fn store(err: StoreError) -> DirectAuthzError {
    server(err)
}

/// Issuing failed after every check passed: nothing the caller can fix, so a server error.
fn issuing(err: OAuthError) -> DirectAuthzError {
    DirectAuthzError::Server(format!("{:?}: {}", err.reason, err.description))
}

/// Runs the authorisation `req` at the tenant `cx`.
pub async fn authorise(
    app: &App,
    cx: &TenantCx,
    req: DirectAuthzRequest,
) -> Result<Answer, DirectAuthzError> {
    let now = now();
    let tenant = &cx.tenant.id;
    let client = app.store.client(tenant, &req.client_id).await.map_err(store)?;
    let Some(client) = client else { return Err(DirectAuthzError::InvalidClientId) };
    let subject = subject(app, cx, &req.subject, now).await?;
    let decision = decide(&req, &client, &cx.tenant.settings, &subject.sub, subject.session.is_some())?;
    // Refused before anything is written (the session below is).
    if req.access_token.encrypt && cx.tenant.direct_authz_encryption.is_none() {
        return Err(DirectAuthzError::invalid("the tenant has no encryption key for access tokens"));
    }
    // The tokens' subject must stand too when it is a local user: the impersonated one, if any.
    let token_user = match decision.act {
        Some(_) => local_user(app, tenant, &decision.token_sub, now).await?,
        None => subject.user,
    };
    let mut sub_sid = None;
    let auth = match subject.session {
        Some(SessionPlan::Existing(auth)) => Some(auth),
        Some(SessionPlan::New(auth, data)) => {
            sub_sid = Some(start_session(app, cx, &auth, data, now).await?);
            Some(auth)
        }
        None => None,
    };
    let direct = grant::grant_of(&req, &decision);
    let local = token_user.is_some();
    let access_token = access_token(app, cx, (&decision, &direct), (&req.client_id, local), now).await?;
    let refresh_token = match decision.refresh_token_ttl_secs {
        Some(ttl) => Some(
            refresh_token(app, cx, (&client, local), (&decision, direct), auth.as_ref(), ttl, now).await?,
        ),
        None => None,
    };
    let id_token = match (decision.id_token_ttl_secs, &auth) {
        (Some(ttl), Some(auth)) => {
            let beside =
                Beside { client: &client, auth, user: token_user.as_ref(), access_token: &access_token };
            Some(id_token(app, cx, &req, &decision, beside, ttl, now).await?)
        }
        _ => None,
    };
    Ok(Answer {
        access_token,
        token_type: "Bearer",
        expires_in: decision.access_token_ttl_secs,
        scope: decision.scope,
        refresh_token,
        id_token,
        sub_sid,
    })
}

/// What an ID token is issued beside: the client, the login, the tokens' local user (if the
/// subject is one) and the access token it is bound to by `at_hash`.
struct Beside<'a> {
    client: &'a Client,
    auth: &'a Authentication,
    user: Option<&'a User>,
    access_token: &'a str,
}

/// Signs the ID token: the session's login, the request's preset claims, the claims named in
/// `claims` when they travel in the ID token (of a local user), and `act` when impersonating.
async fn id_token(
    app: &App,
    cx: &TenantCx,
    req: &DirectAuthzRequest,
    d: &Decision,
    Beside { client, auth, user, access_token }: Beside<'_>,
    ttl: u32,
    now: UnixSecs,
) -> Result<String, DirectAuthzError> {
    let released = match (req.claims_transport, user) {
        (ClaimsTransport::IdToken, Some(user)) => named_claims(user, &req.claims),
        _ => serde_json::Map::new(),
    };
    let alg = client.id_token_signed_response_alg;
    let claims = IdTokenClaims {
        iss: cx.issuer.clone(),
        sub: d.token_sub.clone(),
        aud: client.client_id.clone(),
        exp: now + i64::from(ttl),
        iat: now,
        auth_time: Some(auth.auth_time),
        nonce: None,
        acr: auth.acr.clone(),
        amr: auth.amr.clone(),
        sid: Some(auth.sid.clone()),
        azp: Some(client.client_id.clone()),
        at_hash: Some(id_token::half_hash(alg, access_token)),
        c_hash: None,
        user_claims: id_token_extra_claims(&req.preset_id_token_claims, released, d.act.as_deref()),
    };
    issue::sign(app, cx, alg, ID_TOKEN_TYP, &claims, now).await.map_err(issuing)
}

/// The local user `sub`, if it is one and stands for a grant beginning at `began_at`; a
/// disabled (or cut-off) local user is refused. `None`: no local user, a federated subject.
async fn local_user(
    app: &App,
    tenant: &str,
    sub: &str,
    began_at: UnixSecs,
) -> Result<Option<User>, DirectAuthzError> {
    let Some(user) = app.store.user(tenant, sub).await.map_err(store)? else { return Ok(None) };
    match user.standing_of(began_at) {
        Standing::Usable => Ok(Some(user)),
        Standing::Disabled | Standing::CutOff => {
            Err(DirectAuthzError::invalid(format!("the subject {sub:?} is disabled")))
        }
    }
}

/// Looks up who the request names; nothing is written.
async fn subject(
    app: &App,
    cx: &TenantCx,
    spec: &SubjectSpec,
    now: UnixSecs,
) -> Result<Subjected, DirectAuthzError> {
    let tenant = &cx.tenant.id;
    match spec {
        SubjectSpec::Sub(sub) => {
            let user = local_user(app, tenant, sub, now).await?;
            Ok(Subjected { sub: sub.clone(), user, session: None })
        }
        SubjectSpec::NewSession(s) => {
            let auth_time = s.auth_time.unwrap_or(now);
            if auth_time > now {
                return Err(DirectAuthzError::invalid("sub_session.auth_time is in the future"));
            }
            let user = local_user(app, tenant, &s.sub, auth_time).await?;
            let sid = secret::encode_id(&random::<16>().map_err(server)?);
            let auth =
                Authentication { sub: s.sub.clone(), sid, auth_time, acr: s.acr.clone(), amr: s.amr.clone() };
            let data = s.data.clone().map(|data| serde_json::Value::Object(data).to_string());
            Ok(Subjected { sub: s.sub.clone(), user, session: Some(SessionPlan::New(auth, data)) })
        }
        SubjectSpec::Session(sub_sid) => {
            let digest = secret::digest(sub_sid);
            let found = app.store.session(tenant, &digest, now).await.map_err(store)?;
            let Some(session) = found.filter(|s| s.tenant == *tenant && s.expires_at > now) else {
                return Err(DirectAuthzError::InvalidSubjectSessionId);
            };
            // A session whose local user was disabled since it began is over.
            let user = match local_user(app, tenant, &session.auth.sub, session.auth.auth_time).await {
                Ok(user) => user,
                Err(DirectAuthzError::InvalidRequest(_)) => {
                    return Err(DirectAuthzError::InvalidSubjectSessionId);
                }
                Err(other) => return Err(other),
            };
            Ok(Subjected {
                sub: session.auth.sub.clone(),
                user,
                session: Some(SessionPlan::Existing(session.auth)),
            })
        }
    }
}

/// Stores a new SSO session for `auth`, with the broker's `data`, and returns its cookie value,
/// the `sub_sid`; durable before it is returned.
async fn start_session(
    app: &App,
    cx: &TenantCx,
    auth: &Authentication,
    data: Option<String>,
    now: UnixSecs,
) -> Result<String, DirectAuthzError> {
    let value = secret::encode_secret(&random::<32>().map_err(server)?);
    let session = Session {
        tenant: cx.tenant.id.clone(),
        auth: auth.clone(),
        created_at: now,
        expires_at: now + i64::from(app.policy.session_ttl_secs_for(&cx.tenant)),
        data,
    };
    app.store.put_session(&secret::digest(&value), &session).await.map_err(store)?;
    Ok(value)
}

/// Signs (and encrypts when asked) or stores the access token as `direct` makes it: its
/// audience, impersonator, data and userinfo release (`direct_authz::grant::apply`), made as
/// every access token is (`issue::access_token`), as its refresh tokens will make theirs.
async fn access_token(
    app: &App,
    cx: &TenantCx,
    (d, direct): (&Decision, &DirectGrant),
    (client_id, local): (&str, bool),
    now: UnixSecs,
) -> Result<String, DirectAuthzError> {
    let tenant = &cx.tenant.id;
    let held = entitlements::of(app, tenant, Subject::User(&d.token_sub)).await.map_err(store)?;
    let mut claims = AccessTokenClaims {
        iss: cx.issuer.clone(),
        sub: d.token_sub.clone(),
        aud: cx.issuer.clone(),
        exp: now + i64::from(d.access_token_ttl_secs),
        iat: now,
        jti: fresh_jti().map_err(issuing)?,
        client_id: client_id.to_owned(),
        scope: d.scope.clone(),
        roles: held.roles.clone(),
        permissions: held.permissions.clone(),
        extra_info: None,
        validator: (!local).then(|| BROKER_VALIDATOR.to_owned()),
        act: None,
        dat: None,
        cls: Vec::new(),
        uip: None,
    };
    grant::apply(direct, &mut claims);
    let format = if direct.identifier { AccessTokenFormat::Opaque } else { AccessTokenFormat::Jwt };
    issue::access_token(app, cx, (format, Some(direct)), claims).await.map_err(issuing)
}

/// Stores the first refresh token of a new family for a long-lived authorisation; `local` says
/// whether its subject is a local user (else the broker vouches for it, as in its tokens), and
/// `direct` how the tokens its refresh tokens issue are made.
async fn refresh_token(
    app: &App,
    cx: &TenantCx,
    (client, local): (&Client, bool),
    (d, direct): (&Decision, DirectGrant),
    auth: Option<&Authentication>,
    ttl: u32,
    now: UnixSecs,
) -> Result<String, DirectAuthzError> {
    let auth = match auth {
        Some(auth) => Authentication { sub: d.token_sub.clone(), ..auth.clone() },
        // No session: the authorisation is its own login, with an id of its own.
        None => Authentication {
            sub: d.token_sub.clone(),
            sid: secret::encode_id(&random::<16>().map_err(server)?),
            auth_time: now,
            acr: None,
            amr: Vec::new(),
        },
    };
    let record = RefreshToken {
        tenant: cx.tenant.id.clone(),
        family: fresh_jti().map_err(issuing)?,
        client_id: client.client_id.clone(),
        scope: d.scope.clone(),
        auth,
        issued_at: now,
        expires_at: now + i64::from(ttl),
        rotated_at: None,
        validator: (!local).then(|| BROKER_VALIDATOR.to_owned()),
        direct: Some(direct),
    };
    issue::start_refresh_family(app, &record).await.map_err(issuing)
}
