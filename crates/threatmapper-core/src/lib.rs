//! # threatmapper-core
//!
//! The pure heart of ThreatMapper: domain types, observable extraction,
//! normalisation and dedup keys. This crate does no I/O of its own — no
//! sockets, no files, no clocks, no global state; it takes bytes and strings
//! and returns values or typed [`Error`]s. The store, the HTTP service and the
//! Python module are thin adapters around it.
//!
//! ## Extracting observables
//!
//! ```
//! use threatmapper_core::{extract, ObservableKind};
//!
//! let report = "Actors exploited cve-2021-44228 from 203.0.113[.]7 and \
//!               staged payloads at hxxps://cdn.evil-example[.]net/p.bin \
//!               (sha256 E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855).";
//! let found = extract(report);
//! let pairs: Vec<(ObservableKind, &str)> =
//!     found.iter().map(|o| (o.kind, o.value.as_str())).collect();
//! assert_eq!(pairs, [
//!     (ObservableKind::Cve, "CVE-2021-44228"),
//!     (ObservableKind::Ipv4, "203.0.113.7"),
//!     (ObservableKind::Url, "https://cdn.evil-example.net/p.bin"),
//!     (ObservableKind::Domain, "cdn.evil-example.net"),
//!     (ObservableKind::Sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
//! ]);
//! // Every value knows where it was found (byte offsets), for highlighting.
//! assert_eq!(&report[found[0].spans[0].start..found[0].spans[0].end], "cve-2021-44228");
//! ```
//!
//! ## Dedup keys
//!
//! ```
//! use threatmapper_core::{canonical_report_url, normalized_title};
//!
//! assert_eq!(
//!     canonical_report_url("https://Example.com/post/?utm_source=rss#comments")?,
//!     "https://example.com/post"
//! );
//! assert_eq!(normalized_title("New  Loader — targets *banks*"), "new loader targets banks");
//! # Ok::<(), threatmapper_core::Error>(())
//! ```
//!
//! ## Module map
//! - [`extract`](crate::extract()) and [`Extractor`]: the single-pass extractor
//!   (see its module docs for the rules and the untrusted-input guarantees).
//! - [`Warninglist`]: known-benign values to suppress.
//! - [`canonical_report_url`], [`normalized_title`], [`canonical_observable`]:
//!   normalisation.
//! - [`report`]: [`ReportDraft`] and [`ImportResult`], what importers produce;
//!   [`stix`]: STIX 2.1 bundles (with a patterning-language parser);
//!   [`feed`]: RSS/Atom/JSON Feed documents; [`misp`]: MISP events;
//!   [`atlas`]: MITRE ATLAS case studies and technique catalogue.
//!
//! Architecture invariant: nothing in this crate knows about databases, HTTP,
//! async runtimes or Python; it compiles without tokio, sqlx, axum, reqwest or
//! pyo3.

pub mod atlas;
mod error;
pub mod extract;
pub mod feed;
pub mod misp;
mod normalize;
mod observable;
pub mod report;
pub mod stix;
mod warninglist;

pub use error::{Error, Result};
pub use extract::{Extraction, Extractor, extract, extract_bytes, extract_reader};
pub use normalize::{
    TRACKING_PARAMETERS, canonical_observable, canonical_report_url, normalized_title,
};
pub use observable::{Extracted, ObservableKind, Span};
pub use report::{DraftObservable, ImportResult, Origin, Rejected, ReportDraft};
pub use warninglist::Warninglist;
