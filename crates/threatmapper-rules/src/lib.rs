//! # threatmapper-rules
//!
//! Detection Studio: Sigma, KQL, SPL and EQL rule skeletons, rule versions and
//! validation. **Mostly not implemented yet**: today it holds the Sigma
//! condition grammar ([`condition`]) that validation will build on; generation,
//! versions, the other languages' parsers and the CLI are still to come.
//!
//! Architecture invariant: pure like `threatmapper-core` — no I/O, no clocks
//! (time and ids are parameters), no async runtime.
//!
//! ```
//! let c = threatmapper_rules::condition::parse("selection and not 1 of filter_*").unwrap();
//! let undefined = threatmapper_rules::condition::undefined_references(&c, &["selection"]);
//! assert_eq!(undefined, ["pattern `filter_*` matches no search identifier"]);
//! ```

pub mod condition;
