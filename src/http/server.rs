//! The accept loop: HTTP/1.1 connections with a deadline for each request
//! head. `axum::serve` sets none, so a client sending a request line at a
//! byte a second, or a pile of idle keep-alive sockets, held file
//! descriptors for minutes. The same deadline bounds how long a keep-alive
//! connection may sit idle between requests (hyper starts it whenever it
//! waits for a head). Open streams are unaffected: their head is read.
//! hyper's own limits on a head's size are set in `serve`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// hyper answers a head it refuses by itself, with a bare status and no
/// body; the router's `head_limits` answer in JSON, so hyper's limits sit
/// well above those: 1,000 header lines here (its default is 100, the
/// router's limit), a head of about 400 KB (its buffer) and a URI of 64 KiB
/// (fixed). Only heads past these get hyper's bare 431 or 414.
const HYPER_MAX_HEADERS: usize = 10 * super::middleware::MAX_HEADERS;

/// Serves `app` until `shutdown`, then lets open connections finish their
/// current request (and closes idle ones) before returning.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let connections = TaskTracker::new();
    loop {
        let (stream, remote) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(remote));
            req.map(axum::body::Body::new)
        });
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .max_headers(HYPER_MAX_HEADERS);
            let connection = builder
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = shutdown.cancelled() => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    connections.close();
    connections.wait().await;
    Ok(())
}
