//! # threatmapper-rules
//!
//! Detection Studio. Today it provides **Sigma validation** with located
//! diagnostics ([`sigma::validate`]): the specification's required fields, a
//! UUID `id`, `status`/`level` values, dates, tag format, `logsource`,
//! `detection` with a real condition grammar ([`condition`]), field modifiers
//! and their combinations, duplicate keys, correlation and filter rules,
//! multi-document files, and a warning for every remaining
//! [`sigma::PLACEHOLDER`]. Rule generation, versions and the KQL/SPL/EQL parsers
//! are not built yet.
//!
//! Architecture invariant: pure like `threatmapper-core` — no I/O, no clocks
//! (time and ids are parameters), no async runtime. The `cli` feature adds the
//! light `threatmapper-rules` binary for CI (no database, no web server).
//!
//! ```
//! use threatmapper_rules::{Status, sigma};
//! let rule = "title: t\nid: 929a690e-bef0-4204-a928-ef5e620d6fcc\nlogsource: {product: windows}\n\
//!             detection:\n  selection: {CommandLine|contains: REPLACE_WITH_BEHAVIOR}\n  condition: selection\n";
//! let diags = sigma::validate(rule);
//! assert_eq!(Status::of(&diags), Status::NeedsAnalyst);
//! assert_eq!(diags[0].code, "SIGMA900");
//! ```

#[cfg(feature = "cli")]
pub mod cli;
pub mod condition;
pub mod diagnostic;
pub mod generate;
pub mod query;
pub mod sigma;
pub mod versions;
pub mod yaml;

pub use diagnostic::{Diagnostic, Severity, Status};
pub use generate::Language;

/// Validate a rule in any language: Sigma through [`sigma::validate`], KQL,
/// SPL and EQL through [`query::validate`].
pub fn validate(language: Language, text: &str) -> Vec<Diagnostic> {
    match language {
        Language::Sigma => sigma::validate(text),
        other => query::validate(other, text),
    }
}
