//! `--metrics-listen ADDR`: `GET /metrics` on an address of its own (a private interface, a
//! port the firewall keeps to the monitoring network), served by a small HTTP/1.1 server on the
//! main thread's runtime, away from the arbiters that serve requests. Everything else there is
//! 404. Its connections are few and bounded: at most [`MAX_CONNECTIONS`] at once, each with a
//! header read timeout.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::http::RouteName;
use super::scrape;
use crate::app::App;
use crate::http::respond::{Resp, json_no_store};

/// Scrapers connected at once, at most; more are closed at once.
const MAX_CONNECTIONS: usize = 64;
/// How long a request head may take to arrive.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `/metrics` on `listener` until `shutdown` turns true.
pub async fn serve(listener: TcpListener, app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let places = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    tracing::warn!(%err, "metrics accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let Ok(place) = places.clone().try_acquire_owned() else {
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let _place = place;
            let service = service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(answer(&app, &req)) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(err) = conn.await {
                tracing::debug!(%err, "metrics connection ended with an error");
            }
        });
    }
}

fn answer(app: &App, req: &Request<Incoming>) -> Resp {
    let began = Instant::now();
    let route = if req.uri().path() == "/metrics" { RouteName::Metrics } else { RouteName::NotFound };
    let resp = if route == RouteName::NotFound {
        json_no_store(StatusCode::NOT_FOUND, &serde_json::json!({ "error": "not_found" }))
    } else if req.method() != Method::GET && req.method() != Method::HEAD {
        json_no_store(StatusCode::METHOD_NOT_ALLOWED, &serde_json::json!({ "error": "method_not_allowed" }))
    } else {
        scrape::metrics(app)
    };
    app.metrics.http.observe(route, resp.status().as_u16(), began.elapsed());
    resp
}
