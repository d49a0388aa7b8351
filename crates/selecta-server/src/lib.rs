//! Selecta's local HTTP service (`selecta serve`): the engine's similar-track search, snippet
//! identification, search by audio and analysis over JSON, on axum/hyper and tokio.
//!
//! It only translates: every rule is the engine's. Searches run on a snapshot of the search
//! index ([`selecta_core::engine::Searcher`]) on tokio's blocking pool, as many at once as the
//! machine has cores and the rest waiting their turn in order (see [`Service::search_slots`]);
//! uploaded audio is analysed there too, outside the engine's lock, so searches stay fast while
//! uploads are analysed. Serving many clients at once, it lets the approximate index answer
//! from the engine's service threshold ([`SERVICE_APPROXIMATE_FROM_TRACKS`], 30 000 tracks)
//! rather than the interactive one. The service listens on loopback unless told otherwise, and then only
//! with a bearer token; request bodies are capped ([`ServiceConfig::max_body_bytes`]); a
//! shutdown signal lets requests in flight finish (each store write is one transaction, so the
//! library is never left half-written).

mod body;
mod error;
mod routes;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use selecta_core::Engine;
use selecta_core::engine::{AudioAnalyzer, SERVICE_APPROXIMATE_FROM_TRACKS};
use selecta_sqlite::SqliteStore;
use tokio::net::TcpListener;

pub use error::ApiError;

/// Largest request body accepted by default: 256 MiB, room for a long lossless track.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// How the service runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// Requests with a larger body are refused with 413.
    pub max_body_bytes: usize,
    /// When set, every request must carry `Authorization: Bearer <token>`.
    pub token: Option<String>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self { max_body_bytes: DEFAULT_MAX_BODY_BYTES, token: None }
    }
}

impl ServiceConfig {
    /// A configuration with this body cap and token.
    pub fn new(max_body_bytes: usize, token: Option<String>) -> Self {
        Self { max_body_bytes, token }
    }
}

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A non-loopback address without the explicit permission and a token.
    #[error("{0} is not a loopback address: pass --allow-remote and a bearer token (--token or SELECTA_TOKEN)")]
    RemoteNotAllowed(SocketAddr),
    /// Binding or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Check that serving on `addr` is allowed: loopback always; any other address only when
/// `allow_remote` is given together with a token.
pub fn check_address(addr: SocketAddr, allow_remote: bool, config: &ServiceConfig) -> Result<(), ServeError> {
    if addr.ip().is_loopback() || (allow_remote && config.token.as_deref().is_some_and(|t| !t.is_empty())) {
        Ok(())
    } else {
        Err(ServeError::RemoteNotAllowed(addr))
    }
}

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct Service {
    /// Held only to take a search snapshot, identify against the stored prints or store.
    engine: Mutex<Engine<SqliteStore>>,
    /// One permit per core for searches. A search is pure computation, so more at once than
    /// cores only makes them share the cores and evict each other's index from the cache: with
    /// 32 clients on 2 cores, each waited longer and less predictably (`selecta bench --http`).
    search_slots: tokio::sync::Semaphore,
    analyzer: AudioAnalyzer,
    config: ServiceConfig,
}

/// Serve the library on `listener` until `shutdown` completes; requests in flight then finish
/// before this returns.
pub async fn serve(
    listener: TcpListener,
    engine: Engine<SqliteStore>,
    config: ServiceConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let mut engine = engine;
    engine.set_approximate_from_tracks(SERVICE_APPROXIMATE_FROM_TRACKS);
    let analyzer = engine.audio_analyzer();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let search_slots = tokio::sync::Semaphore::new(cores);
    let service = Arc::new(Service { engine: Mutex::new(engine), search_slots, analyzer, config });
    let app = routes::router(service);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

/// Bind `addr` and serve until SIGINT or SIGTERM, on a runtime of its own (for a caller with
/// none, like the CLI). `listening` is told the bound address (the port, when `addr` asked for
/// any) once requests are accepted.
pub fn run(
    addr: SocketAddr,
    engine: Engine<SqliteStore>,
    config: ServiceConfig,
    listening: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr).await?;
        listening(listener.local_addr()?);
        serve(listener, engine, config, shutdown_signal()).await
    })
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
