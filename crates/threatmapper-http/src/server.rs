//! The axum application: state, router, middleware and `serve`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use threatmapper_store::Store;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::collect::Collector;
use crate::config::Config;
use crate::error::ApiError;
use crate::fetch::Fetcher;
use crate::rdap::Rdap;

/// Shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Settings.
    pub config: Arc<Config>,
    /// The guarded outbound client.
    pub fetcher: Fetcher,
    /// RDAP client and bootstrap cache.
    pub rdap: Arc<Rdap>,
    /// This process's lease owner id.
    pub worker_id: String,
    /// Every documented `(METHOD, path template)`, filled by [`app`]: the
    /// authentication layer lets undeclared methods through to the 405
    /// answer instead of judging them.
    pub operations: Arc<std::sync::OnceLock<std::collections::HashSet<(String, String)>>>,
}

impl AppState {
    /// State over an opened store.
    pub fn new(store: Store, config: Config) -> Result<AppState, crate::fetch::FetchError> {
        let fetcher = Fetcher::new(&config.fetch)?;
        Ok(AppState {
            store,
            fetcher,
            rdap: Arc::new(Rdap::new(config.rdap.clone())),
            config: Arc::new(config),
            worker_id: crate::collect::worker_id(),
            operations: Default::default(),
        })
    }

    /// The collector view of this state.
    pub fn collector(&self) -> Collector {
        let fetch = &self.config.fetch;
        Collector {
            store: self.store.clone(),
            fetcher: self.fetcher.clone(),
            owner: self.worker_id.clone(),
            lease: fetch.timeout * (fetch.max_redirects as u32 + 1) + Duration::from_secs(120),
        }
    }
}

/// The whole application and its OpenAPI document.
pub fn app(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (api, doc) = crate::api::router().split_for_parts();
    let ops: std::collections::HashSet<(String, String)> = doc
        .paths
        .paths
        .iter()
        .flat_map(|(path, item)| {
            [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ]
            .into_iter()
            .filter(|(_, present)| *present)
            .map(move |(m, _)| (m.to_owned(), path.clone()))
        })
        .collect();
    let _ = state.operations.set(ops);
    let doc_json = Arc::new(doc.to_json().unwrap_or_else(|_| "{}".to_owned()));
    let limit = state.config.max_body_bytes;
    let router = api
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let d = doc_json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], (*d).clone()) }
            }),
        )
        .merge(crate::page::router())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            )
        })
        // On matched routes only: an unknown path is 404 and an undeclared
        // method 405 before any identity or content-type rule applies.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::authenticate,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    (router, doc)
}

/// Why `serve` stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Refused configuration.
    #[error("{0}")]
    Config(String),
    /// The database.
    #[error("database: {0}")]
    Store(#[from] threatmapper_store::Error),
    /// Binding or serving.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Options of `threatmapper serve` beyond the environment.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Allow local mode on a non-loopback address.
    pub allow_unauthenticated_remote: bool,
}

/// Open the database (migrating it), start the scheduler and serve until
/// SIGTERM/Ctrl-C; in-flight requests finish before the process exits.
pub async fn serve(config: Config, opts: ServeOptions) -> Result<(), ServeError> {
    if !config.auth_enabled && !config.bind.ip().is_loopback() {
        if !opts.allow_unauthenticated_remote {
            return Err(ServeError::Config(format!(
                "refusing to serve {} without authentication: local mode gives every caller admin rights. \
                 Set AUTH_ENABLED=true behind an identity-aware proxy, bind 127.0.0.1, or pass --allow-unauthenticated-remote",
                config.bind
            )));
        }
        tracing::warn!(bind = %config.bind, "SERVING WITHOUT AUTHENTICATION ON A NON-LOOPBACK ADDRESS: anyone who can reach it is admin");
    }
    let mut opts_store = threatmapper_store::StoreOptions::new(&config.database_url);
    opts_store.max_connections = config.database_max_connections;
    let store = Store::open_with(opts_store).await?;
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let bound = listener.local_addr()?;
    let state = AppState::new(store.clone(), config.clone())
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let scheduler = config.scheduler_enabled.then(|| {
        crate::collect::spawn_scheduler(
            state.collector(),
            config.scheduler_tick,
            config.scheduler_concurrency,
            shutdown_rx.clone(),
        )
    });
    let (router, _) = app(state);
    tracing::info!(addr = %bound, database = ?store.backend(), auth = config.auth_enabled, "threatmapper listening on http://{bound}/");
    // The address on standard output, for scripts that bind port 0.
    println!("listening on http://{bound}/");
    let mut rx = shutdown_rx.clone();
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = rx.changed() => {}
        }
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = shutdown_tx.send(true);
    })
    .await?;
    if let Some(s) = scheduler {
        let _ = tokio::time::timeout(Duration::from_secs(30), s).await;
    }
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// Install the tracing subscriber (plain or JSON, `RUST_LOG` filter).
pub fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        b.json().try_init()
    } else {
        b.try_init()
    };
}
