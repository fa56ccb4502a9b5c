//! # threatmapper-rules
//!
//! Detection Studio: Sigma, KQL, SPL and EQL rule skeletons, rule versions and
//! validation. **Not implemented yet** — this crate is a placeholder in the
//! workspace layout of `DESIGN.md`; it exports nothing so that nothing is
//! presented as working before it is.
//!
//! Architecture invariant: pure like `threatmapper-core` — no I/O, no clocks
//! (time and ids are parameters), no async runtime.
//!
//! ```
//! // Nothing to call yet; the crate compiles and depends only on the core.
//! let _ = threatmapper_core::ObservableKind::ALL;
//! ```
