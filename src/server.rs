//! Serving: bind, serve, and drain in-flight requests on shutdown.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use sluice_core::gateway::Gateway;
use tokio::net::TcpListener;

/// Serves `gateway` on `listener` until `shutdown` resolves, then stops accepting connections
/// and lets in-flight requests finish for up to the configured grace period.
///
/// # Errors
/// When the server fails, or in-flight requests outlive the grace period.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let grace = gateway.server.shutdown_grace;
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!(grace_seconds = grace.as_secs(), "shutting down; draining in-flight requests");
        let _ = stopping_tx.send(());
    };
    let app = sluice_core::http::app(gateway).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(signal);
    let server = async { server.await.context("server failed") };
    let deadline = async {
        // Runs only once shutdown has begun; a dropped sender means the server ended first.
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result,
        () = deadline => anyhow::bail!("in-flight requests did not finish within {grace:?}"),
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
