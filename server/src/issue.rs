//! Issuing what a grant earns: access tokens (signed JWTs or stored opaque tokens), ID tokens
//! signed with the client's algorithm, refresh tokens, authorization codes, and the set of
//! them an authorization response carries. The token endpoint and `/authorize` both come here,
//! so a token looks the same whichever flow produced it.

use std::sync::Arc;

use tessera_core::authorize::AuthorizationRequest;
use tessera_core::error::{OAuthError, Reason};
use tessera_core::grants::plan::{IdTokenPlan, IssuePlan, RefreshPlan, ScopeSource};
use tessera_core::id_token::{self, ID_TOKEN_TYP, IdTokenClaims};
use tessera_core::jwt::{self, ACCESS_TOKEN_TYP, AccessTokenClaims};
use tessera_core::model::{
    AccessTokenFormat, Authentication, Client, Code, DirectGrant, GrantType, OpaqueToken, RefreshToken,
    SigningAlg, UnixSecs, User,
};
use tessera_core::store::Subject;
use tessera_core::token::TokenResponse;
use tessera_core::{rbac, secret, userinfo};

use crate::actors::TokenWrite;
use crate::app::{App, TenantCx};
use crate::entitlements;
use crate::grants::fresh_jti;
use crate::http::respond::{random_error, sign_error, store_error};
use crate::metrics::issued::Issued;
use crate::util::{now, random};

/// Carries out what a grant planned, the same way for every grant: signs (or stores) the
/// access token, stores the first refresh token of a new family or hands back the one the
/// grant stored, signs the ID token, and builds the response (RFC 6749 5.1).
pub async fn carry_out(
    app: &App,
    cx: &TenantCx,
    client: &Client,
    plan: IssuePlan,
    now: UnixSecs,
) -> Result<TokenResponse, OAuthError> {
    let ttl = plan.access_token_ttl(cx.tenant.settings.access_token_ttl_secs);
    let format = plan.access_token_format(client.access_token_format);
    let claims = plan.access_token_claims(&cx.issuer, &client.client_id, now, ttl);
    let direct = plan.direct.as_ref();
    let (access_token, refresh_token) = match plan.refresh {
        RefreshPlan::None => (access_token(app, cx, (format, direct), claims).await?, None),
        RefreshPlan::Stored(value) => (access_token(app, cx, (format, direct), claims).await?, Some(value)),
        // If the code the family comes from is replayed meanwhile, the replay's revocation
        // makes the family's write fail (no live refresh token is left behind) and denies the
        // access token's `jti`; so the access token is signed (or stored) while the family's
        // write waits for its fsync.
        RefreshPlan::StartFamily(record) => {
            let (refresh, access) = tokio::join!(
                start_refresh_family(app, &record),
                access_token(app, cx, (format, direct), claims)
            );
            (access?, Some(refresh?))
        }
    };
    let id_token = match plan.id_token {
        Some(id) => {
            let mut extra = serde_json::Map::new();
            if let Some(roles) = rbac::roles_claim(&plan.scope, &plan.entitlements) {
                extra.insert("roles".into(), roles);
            }
            // An impersonation's refreshed ID token names the impersonator as its first did.
            if let Some(actor) = plan.direct.as_ref().and_then(|d| d.act.as_ref()) {
                extra.insert("act".into(), serde_json::json!({ "sub": actor }));
            }
            Some(id_token_beside(app, cx, client, (id, extra), &access_token, now).await?)
        }
        None => None,
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        scope: plan.scope,
        refresh_token,
        id_token,
    })
}

/// Issues an access token with `claims` in `format` (a direct authorisation's, its API's or
/// its client's): a JWT signed with the tenant's access-token algorithm (encrypted with the
/// tenant's shared key when the direct authorisation `direct` asked), or an opaque token
/// stored (durably, through the tenant shard owning it, shown only to `direct`'s audience)
/// before it is returned.
pub(crate) async fn access_token(
    app: &App,
    cx: &TenantCx,
    (format, direct): (AccessTokenFormat, Option<&DirectGrant>),
    claims: AccessTokenClaims,
) -> Result<String, OAuthError> {
    match format {
        AccessTokenFormat::Jwt => {
            let jws = sign_access_token(app, cx, &claims).await?;
            match direct {
                Some(d) if d.encrypt => crate::direct_authz::encrypt_for(app, cx, &jws)
                    .map_err(|e| OAuthError::new(Reason::Internal, e.to_string())),
                _ => Ok(jws),
            }
        }
        AccessTokenFormat::Opaque => {
            let audience = direct.map(|d| d.audience.clone()).unwrap_or_default();
            store_opaque_token(app, cx, claims, audience).await
        }
    }
}

/// The ID token that travels beside `access_token` (OpenID Connect Core 3.1.3.3), bound to
/// it by `at_hash`, with `extra` claims (the end-user's `roles` when the `roles` scope was
/// granted, an impersonation's `act`).
async fn id_token_beside(
    app: &App,
    cx: &TenantCx,
    client: &Client,
    (plan, extra): (IdTokenPlan, serde_json::Map<String, serde_json::Value>),
    access_token: &str,
    now: UnixSecs,
) -> Result<String, OAuthError> {
    let mut claims = id_token_claims(cx, client, &plan.auth, plan.nonce, now);
    claims.user_claims.extend(extra);
    claims.at_hash = Some(id_token::half_hash(client.id_token_signed_response_alg, access_token));
    sign_id_token(app, cx, client, &claims).await
}

/// Signs JWT access-token claims with the tenant's current key for its access-token algorithm.
async fn sign_access_token(
    app: &App,
    cx: &TenantCx,
    claims: &AccessTokenClaims,
) -> Result<String, OAuthError> {
    sign(app, cx, cx.tenant.settings.access_token_alg, ACCESS_TOKEN_TYP, claims, claims.iat).await
}

/// Stores an opaque access token and returns its value; `audience` lists the client ids of the
/// only resource servers told it is active (empty: any).
pub(crate) async fn store_opaque_token(
    app: &App,
    cx: &TenantCx,
    claims: AccessTokenClaims,
    audience: Vec<String>,
) -> Result<String, OAuthError> {
    let value = secret::encode_secret(&random().map_err(random_error)?);
    let digest = secret::digest(&value);
    // The issuer is the default audience, and not repeated in every record.
    let aud = (claims.aud != cx.issuer).then_some(claims.aud);
    let extra_info = match claims.extra_info {
        Some(extra) => Some(
            serde_json::to_string(&extra).map_err(|e| OAuthError::new(Reason::Internal, e.to_string()))?,
        ),
        None => None,
    };
    let record = Arc::new(OpaqueToken {
        tenant: cx.tenant.id.clone(),
        client_id: claims.client_id,
        sub: claims.sub,
        scope: claims.scope,
        jti: claims.jti,
        iat: claims.iat,
        exp: claims.exp,
        roles: claims.roles,
        permissions: claims.permissions,
        aud,
        extra_info,
        validator: claims.validator,
        audience,
        // The actor is `{"sub": impersonator}` (RFC 8693 4.1); only its subject is kept.
        act: claims.act.as_ref().and_then(|a| a.get("sub")).and_then(|s| s.as_str()).map(str::to_owned),
        dat: claims.dat.as_ref().map(serde_json::Value::to_string),
        cls: claims.cls,
        uip: claims.uip.map(|uip| serde_json::Value::Object(uip).to_string()),
    });
    app.shards
        .write(&cx.tenant.id, &digest, TokenWrite::IssueOpaque { digest, record })
        .await
        .map_err(store_error)?;
    Ok(value)
}

/// The claims of an ID token for `client` about the login `auth`, before the hashes of what
/// travels with it.
fn id_token_claims(
    cx: &TenantCx,
    client: &Client,
    auth: &Authentication,
    nonce: Option<String>,
    now: UnixSecs,
) -> IdTokenClaims {
    IdTokenClaims {
        iss: cx.issuer.clone(),
        sub: auth.sub.clone(),
        aud: client.client_id.clone(),
        exp: now + i64::from(cx.tenant.settings.id_token_ttl_secs),
        iat: now,
        auth_time: Some(auth.auth_time),
        nonce,
        acr: auth.acr.clone(),
        amr: auth.amr.clone(),
        sid: Some(auth.sid.clone()),
        azp: Some(client.client_id.clone()),
        at_hash: None,
        c_hash: None,
        user_claims: serde_json::Map::new(),
    }
}

/// Signs an ID token with the client's `id_token_signed_response_alg` (RS256 unless it
/// registered another), through the signer, so HSM-held keys sign ID tokens too.
async fn sign_id_token(
    app: &App,
    cx: &TenantCx,
    client: &Client,
    claims: &IdTokenClaims,
) -> Result<String, OAuthError> {
    sign(app, cx, client.id_token_signed_response_alg, ID_TOKEN_TYP, claims, claims.iat).await
}

/// Signs `claims` as a JWS of type `typ` with the tenant's current key for `alg`.
pub(crate) async fn sign<C: serde::Serialize>(
    app: &App,
    cx: &TenantCx,
    alg: SigningAlg,
    typ: &str,
    claims: &C,
    now: UnixSecs,
) -> Result<String, OAuthError> {
    let kid = app.keys.current_or_create(&cx.tenant.id, alg, now).await.map_err(|e| {
        tracing::error!(err = %e, ?alg, "no signing key");
        OAuthError::new(Reason::SigningFailed, "no signing key")
    })?;
    let input = jwt::signing_input(alg, typ, &kid, claims)
        .map_err(|e| OAuthError::new(Reason::Internal, e.to_string()))?;
    let began = std::time::Instant::now();
    let signature = app.signer.sign(&cx.tenant.id, &kid, input.as_bytes()).await.map_err(sign_error)?;
    app.metrics.issue.signed(alg, began.elapsed());
    Ok(jwt::assemble(input, &signature))
}

/// Stores the first refresh token of a family and returns its value. Refused with
/// `invalid_grant` if the family was revoked meanwhile (the code it came from was replayed).
pub(crate) async fn start_refresh_family(app: &App, record: &RefreshToken) -> Result<String, OAuthError> {
    let value = secret::encode_secret(&random().map_err(random_error)?);
    match app.store.put_refresh_token(&secret::digest(&value), record).await {
        Ok(()) => Ok(value),
        Err(tessera_core::store::StoreError::Conflict(_)) => Err(OAuthError::new(
            Reason::AuthorizationCodeReplayed,
            "the authorization code was used twice; its tokens are revoked",
        )),
        Err(err) => Err(store_error(err)),
    }
}

/// The parameters of a successful authorization response for `req` after the login `auth` of
/// `user` (read and found in good standing by the caller, in this request): a code (stored
/// before it is returned), an access token, an ID token, as the response type asks. The caller
/// sends them with `req.success`.
pub async fn authorization_response(
    app: &App,
    cx: &TenantCx,
    client: &Client,
    req: &AuthorizationRequest,
    auth: &Authentication,
    user: &User,
) -> Result<Vec<(&'static str, String)>, OAuthError> {
    let now = now();
    // The end-user must hold what the requested scope needs before anything is issued; the
    // code's redemption checks again, for roles changed in between.
    let held = entitlements::of(app, &cx.tenant.id, Subject::User(&user.id)).await.map_err(store_error)?;
    let scope = rbac::admit_scope(&req.scope, &held, entitlements::scope_rules(&cx.tenant), true)?;
    let mut params: Vec<(&'static str, String)> = Vec::with_capacity(5);
    let rt = req.response_type;
    let mut code_value = None;
    if rt.code {
        let value = secret::encode_secret(&random().map_err(random_error)?);
        let record = Code::new(&cx.tenant.id, req, auth.clone(), now, cx.tenant.settings.code_ttl_secs);
        app.store.put_code(&secret::digest(&value), &record).await.map_err(store_error)?;
        params.push(("code", value.clone()));
        code_value = Some(value);
    }
    let mut access = None;
    if rt.token {
        let api = req.resource.as_deref().and_then(|r| cx.tenant.apis.iter().find(|a| a.identifier == r));
        let plan = IssuePlan {
            sub: auth.sub.clone(),
            scope: scope.clone(),
            target: None,
            extra_info: None,
            jti: fresh_jti()?,
            refresh: RefreshPlan::None,
            id_token: None,
            entitlements: held.clone(),
            validator: None,
            direct: None,
        }
        // The scope was held to the API when the request was read (`authorize::for_api`).
        .for_api(api, ScopeSource::Default)?;
        let ttl = plan.access_token_ttl(cx.tenant.settings.access_token_ttl_secs);
        let format = plan.access_token_format(client.access_token_format);
        let claims = plan.access_token_claims(&cx.issuer, &client.client_id, now, ttl);
        let token = access_token(app, cx, (format, None), claims).await?;
        app.metrics.issue.issued(GrantType::Implicit, Issued::Access(format));
        params.push(("access_token", token.clone()));
        params.push(("token_type", "Bearer".to_owned()));
        params.push(("expires_in", ttl.to_string()));
        access = Some(token);
    }
    if rt.id_token {
        let alg = client.id_token_signed_response_alg;
        let mut claims = id_token_claims(cx, client, auth, req.nonce.clone(), now);
        claims.at_hash = access.as_deref().map(|t| id_token::half_hash(alg, t));
        claims.c_hash = code_value.as_deref().map(|c| id_token::half_hash(alg, c));
        if !rt.code && !rt.token {
            // Core 5.4: with no access token to call /userinfo with, the claims the scope
            // releases travel in the ID token.
            claims.user_claims = userinfo::claims(user, &req.scope);
            claims.user_claims.remove("sub");
        }
        if let Some(roles) = rbac::roles_claim(&scope, &held) {
            claims.user_claims.insert("roles".into(), roles);
        }
        params.push(("id_token", sign_id_token(app, cx, client, &claims).await?));
        // The ID token of a code flow is counted when the code is redeemed; this one is the
        // front channel's.
        app.metrics.issue.issued(GrantType::Implicit, Issued::Id);
    }
    Ok(params)
}
