//! The HTTP server: hyper (HTTP/1.1 and HTTP/2 on one port), one accept loop per arbiter and
//! one task per connection, and the dispatch of each request to its endpoint. Protocol errors are answered
//! here in the protocol's own format before any state is touched.

pub mod body;
pub mod conn;
pub mod cors;
pub mod respond;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{ALLOW, HeaderValue};
use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tessera_core::error::{OAuthError, Reason};
use tessera_core::form::MAX_BODY_BYTES;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::admin;
use crate::app::App;
use crate::audit::Caller;
use crate::endpoints;
use crate::metrics::http::RouteName;
use crate::metrics::scrape;
use crate::router::{Endpoint, FormEndpoint, Route, Router};
use crate::web;
use respond::{ApiError, Resp, json_no_store, oauth_error, plain};

/// How long open connections may take to finish after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How often an HTTP/2 connection is pinged, so a dead peer is noticed and a live one makes
/// progress for the idle watchdog; shorter than the default idle timeout.
const H2_PING_INTERVAL: Duration = Duration::from_secs(20);
/// How long an HTTP/2 ping may go unanswered before the connection is closed.
const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The connection caps shared by every accept loop, and the timeouts.
#[derive(Clone)]
pub struct Connections {
    /// Admits or refuses each accepted connection.
    pub gate: Arc<conn::Gate>,
    /// Timeouts and caps, as configured.
    pub settings: conn::ConnSettings,
}

/// Serves until `shutdown` turns true, then stops accepting, lets open requests finish (for
/// at most [`DRAIN_TIMEOUT`]) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    connections: Connections,
    mut shutdown: watch::Receiver<bool>,
) {
    let router = Arc::new(Router::new());
    let settings = connections.settings;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // No timer on HTTP/1: the header read timeout is the watchdog's (see `conn::Activity`).
    builder.http1().keep_alive(true).max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256)
        .keep_alive_interval(H2_PING_INTERVAL)
        .keep_alive_timeout(H2_PING_TIMEOUT);
    let builder = Arc::new(builder);
    let mut open = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning, and
                    // keep accepting once connections close.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        // Reap finished connections so the set stays as large as the open ones.
        while open.try_join_next().is_some() {}
        let admitted = match connections.gate.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(why) => {
                // Best effort, without waiting: a client that reads gets a reason.
                let _ = stream.try_write(conn::refusal_response(why));
                tracing::debug!(%peer, ?why, "connection refused");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (app, router, builder) = (app.clone(), router.clone(), builder.clone());
        let mut conn_shutdown = shutdown.clone();
        open.spawn(async move {
            let _admitted = admitted;
            let activity = conn::Activity::new();
            let requests = activity.clone();
            let service = service_fn(move |req| {
                let (app, router) = (app.clone(), router.clone());
                let in_flight = requests.request();
                async move {
                    let began = Instant::now();
                    let route = router.route(req.uri().path());
                    let name = RouteName::of(route.as_ref());
                    let resp = handle(&app, route, req, peer).await;
                    app.metrics.http.observe(name, resp.status().as_u16(), began.elapsed());
                    drop(in_flight);
                    Ok::<_, Infallible>(resp)
                }
            });
            let io = TokioIo::new(conn::Watched::new(stream, activity.clone()));
            let conn = builder.serve_connection(io, service);
            tokio::pin!(conn);
            tokio::select! {
                res = conn.as_mut() => {
                    if let Err(err) = res {
                        tracing::debug!(%err, %peer, "connection ended with an error");
                    }
                }
                closed = activity.watch(settings.header_read_timeout, settings.idle_timeout) => {
                    tracing::debug!(%peer, ?closed, "connection closed by its watchdog");
                }
                _ = conn_shutdown.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async { while open.join_next().await.is_some() {} });
    if drained.await.is_err() {
        tracing::warn!(open = open.len(), "connections still open after the drain timeout; closing them");
        open.abort_all();
    }
}

async fn handle(app: &App, route: Option<Route>, req: Request<Incoming>, peer: SocketAddr) -> Resp {
    let not_found = || json_no_store(StatusCode::NOT_FOUND, &serde_json::json!({ "error": "not_found" }));
    let Some(route) = route else {
        return not_found();
    };
    match route {
        // Browser pages answer in HTML from the first error on (an unknown tenant included).
        Route::Tenant(tenant, Endpoint::Web(page)) => web::handle(app, &tenant, page, req, peer).await,
        Route::Tenant(tenant, endpoint) => {
            if req.method() == Method::OPTIONS {
                return cors::preflight(&app.origins, &tenant, endpoint, req.headers()).await;
            }
            let origin = cors::request_origin(req.headers());
            let mut resp = protocol(app, tenant.clone(), endpoint, req, peer.ip()).await;
            cors::decorate(&app.origins, &tenant, endpoint, origin.as_ref(), &mut resp).await;
            resp
        }
        Route::Admin(route) => {
            // Who asks is checked before the body is read: a stranger gets nothing to send
            // a megabyte into.
            let actor = match admin::access::authorize(app, &route, req.method(), req.headers()).await {
                Ok(actor) => actor,
                Err(refused) => return refused.into_response(),
            };
            let (parts, body) = req.into_parts();
            let body = match body::read(body, admin::MAX_BODY_BYTES, app.body_read_timeout).await {
                Ok(b) => b,
                Err(body::BodyError::TooLarge) => return ApiError::TooLarge.into_response(),
                Err(body::BodyError::Io(e)) => return ApiError::BadRequest(e).into_response(),
            };
            let caller = Caller { actor, source: peer.ip() };
            admin::dispatch(app, &caller, route, &parts.method, parts.uri.query(), &parts.headers, body).await
        }
        // No credential: the document describes the API and holds no secret (`admin::openapi`).
        Route::OpenApi if req.method() != Method::GET && req.method() != Method::HEAD => {
            method_not_allowed("GET, HEAD")
        }
        Route::OpenApi => admin::openapi::serve(),
        Route::DirectAuthz => crate::direct_authz::handle(app, req, peer.ip()).await,
        Route::Live => plain(StatusCode::OK, "ok"),
        Route::Ready => scrape::ready(app).await,
        // With `--metrics-listen`, the scrape is served there only.
        Route::Metrics if !app.metrics_on_main => not_found(),
        Route::Metrics if req.method() != Method::GET && req.method() != Method::HEAD => {
            method_not_allowed("GET, HEAD")
        }
        Route::Metrics => scrape::metrics(app),
    }
}

/// `/userinfo`: a GET carries its token in the header; a POST may carry it in a form body.
async fn userinfo(app: &App, cx: &crate::app::TenantCx, req: Request<Incoming>) -> Resp {
    let method = req.method().clone();
    if method == Method::GET || method == Method::HEAD {
        return endpoints::userinfo::handle(app, cx, req.headers(), None).await;
    }
    if method != Method::POST {
        return method_not_allowed("GET, HEAD, POST");
    }
    let has_body_type = req.headers().contains_key(http::header::CONTENT_TYPE);
    if has_body_type && !body::has_media_type(req.headers(), "application/x-www-form-urlencoded") {
        return oauth_error(&OAuthError::new(
            Reason::WrongContentType,
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let (parts, body) = req.into_parts();
    match body::read(body, MAX_BODY_BYTES, app.body_read_timeout).await {
        // RFC 6750 2.2: a token in the body counts only with the form media type. A POST
        // without a content type may carry its token in the header, but no body.
        Ok(body) if !has_body_type && !body.is_empty() => oauth_error(&OAuthError::new(
            Reason::WrongContentType,
            "the body must be application/x-www-form-urlencoded",
        )),
        Ok(body) => endpoints::userinfo::handle(app, cx, &parts.headers, Some(&body)).await,
        Err(body::BodyError::TooLarge) => {
            oauth_error(&OAuthError::new(Reason::BodyTooLarge, "request body is too large"))
        }
        Err(body::BodyError::Io(e)) => oauth_error(&OAuthError::new(Reason::MalformedBody, e)),
    }
}

fn method_not_allowed(allow: &'static str) -> Resp {
    let mut resp =
        json_no_store(StatusCode::METHOD_NOT_ALLOWED, &serde_json::json!({ "error": "method_not_allowed" }));
    resp.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    resp
}

async fn protocol(
    app: &App,
    tenant: String,
    endpoint: Endpoint,
    req: Request<Incoming>,
    peer: IpAddr,
) -> Resp {
    let cx = match app.tenant(&tenant).await {
        Ok(Some(cx)) => cx,
        Ok(None) => {
            return json_no_store(
                StatusCode::NOT_FOUND,
                &serde_json::json!({ "error": "invalid_request", "error_description": "unknown tenant" }),
            );
        }
        Err(err) => return oauth_error(&respond::store_error(err)),
    };
    let read_only = req.method() == Method::GET || req.method() == Method::HEAD;
    let form_endpoint = match endpoint {
        Endpoint::Form(form_endpoint) => form_endpoint,
        // Dispatched by `handle` before a protocol endpoint is looked at; never reached.
        Endpoint::Web(_) => {
            return json_no_store(StatusCode::NOT_FOUND, &serde_json::json!({ "error": "not_found" }));
        }
        Endpoint::Userinfo => return userinfo(app, &cx, req).await,
        Endpoint::Discovery | Endpoint::Jwks if !read_only => return method_not_allowed("GET, HEAD"),
        Endpoint::Discovery => return endpoints::discovery::handle(app, &cx),
        Endpoint::Jwks => return endpoints::jwks::handle(app, &cx).await,
    };
    if req.method() != Method::POST {
        return method_not_allowed("POST");
    }
    if !body::has_media_type(req.headers(), "application/x-www-form-urlencoded") {
        return oauth_error(&OAuthError::new(
            Reason::WrongContentType,
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let (parts, body) = req.into_parts();
    let body = match body::read(body, MAX_BODY_BYTES, app.body_read_timeout).await {
        Ok(b) => b,
        Err(body::BodyError::TooLarge) => {
            return oauth_error(&OAuthError::new(Reason::BodyTooLarge, "request body is too large"));
        }
        Err(body::BodyError::Io(e)) => return oauth_error(&OAuthError::new(Reason::MalformedBody, e)),
    };
    match form_endpoint {
        FormEndpoint::Token => endpoints::token::handle(app, cx, &parts.headers, body, peer).await,
        FormEndpoint::Introspect => endpoints::introspect::handle(app, cx, &parts.headers, body).await,
        FormEndpoint::Revoke => endpoints::revoke::handle(app, cx, &parts.headers, body, peer).await,
    }
}
