//! The `threatmapper` binary.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    threatmapper_http::cli::run(threatmapper_http::cli::Cli::parse())
}
