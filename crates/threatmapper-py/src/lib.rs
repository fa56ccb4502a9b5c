//! # threatmapper-py
//!
//! Python bindings (pyo3, built with maturin). **Not implemented yet** — a
//! placeholder in the workspace layout of `DESIGN.md`; it exports nothing.
//!
//! Architecture invariant: wraps core, rules and store; holds no logic.
//!
//! ```
//! // Nothing to call yet; the crate compiles and depends only on the core.
//! let _ = threatmapper_core::ObservableKind::ALL;
//! ```
