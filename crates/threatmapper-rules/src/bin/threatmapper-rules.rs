//! The light rule validator for detection engineers' CI: no database driver,
//! no web server. `threatmapper-rules validate PATH...`.

use std::process::ExitCode;

use clap::Parser;

/// Validate detection rules (Sigma today) with located diagnostics.
#[derive(Debug, Parser)]
#[command(name = "threatmapper-rules", version)]
struct Cli {
    #[command(subcommand)]
    command: threatmapper_rules::cli::RulesCommand,
}

fn main() -> ExitCode {
    threatmapper_rules::cli::run(Cli::parse().command)
}
