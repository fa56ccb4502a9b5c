//! # threatmapper-store
//!
//! Persistence with sqlx: SQLite (embedded default) and PostgreSQL.
//! **Not implemented yet** — a placeholder in the workspace layout of
//! `DESIGN.md`; it exports nothing.
//!
//! Architecture invariant: knows SQL, not HTTP.
//!
//! ```
//! // Nothing to call yet; the crate compiles and depends only on the core.
//! let _ = threatmapper_core::ObservableKind::ALL;
//! ```
