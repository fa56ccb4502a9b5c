//! # threatmapper-http
//!
//! The `threatmapper` binary and (as later issues land) the HTTP service.
//! Today it provides the command-line front end over `threatmapper-core`:
//! `threatmapper extract`.
//!
//! ```
//! use threatmapper_http::cli::{render_json, OutputOptions};
//! let found = threatmapper_core::extract("see 198.51.100.23");
//! let json = render_json(&found, OutputOptions { spans: false });
//! assert!(json.starts_with(r#"{"cve":[],"ipv4":["198.51.100.23"]"#));
//! ```
//!
//! Architecture invariant: this crate knows HTTP and the command line; all
//! parsing, extraction and normalisation live in `threatmapper-core`.

pub mod cli;
