//! # threatmapper-http
//!
//! The bundled server an analyst team runs, and the `threatmapper` binary.
//!
//! - [`server`]: the axum application — JSON API under `/api/pipeline`
//!   ([`api`]), the OpenAPI 3.1 document at `/api/openapi.json`, `/healthz`,
//!   `/readyz` and the page at `/` — with graceful shutdown.
//! - [`auth`]: local mode (one local admin, loopback only) or team mode,
//!   where identity comes only from `X-Auth-User` / `X-Auth-Roles` set by a
//!   trusted reverse proxy (decided from the TCP peer, never from
//!   `X-Forwarded-For`); mutations need `admin` or `analyst`; every denial
//!   is audited.
//! - [`fetch`]: the one outbound client — limits, conditional GET, manual
//!   redirects and an SSRF guard checked on the resolved addresses.
//! - [`collect`]: running a feed source and the scheduler; [`rdap`]: RDAP
//!   enrichment as evidence.
//! - [`cli`]: `threatmapper serve | extract | import | collect | migrate |
//!   audit verify | rules ...`.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use threatmapper_http::{config::Config, server};
//! let store = threatmapper_store::Store::open("sqlite::memory:").await.unwrap();
//! let config = Config::from_lookup(|_| None).unwrap();
//! let (router, openapi) = server::app(server::AppState::new(store, config).unwrap());
//! assert!(openapi.paths.paths.contains_key("/api/pipeline/import/stix"));
//! # let _ = router;
//! # });
//! ```
//!
//! Architecture invariant: this crate knows HTTP and the command line; all
//! parsing, extraction and normalisation live in `threatmapper-core`, rule
//! logic in `threatmapper-rules`, and SQL in `threatmapper-store`.

pub mod api;
pub mod auth;
pub mod cli;
pub mod collect;
pub mod config;
pub mod error;
pub mod fetch;
pub mod page;
pub mod rdap;
pub mod server;

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
