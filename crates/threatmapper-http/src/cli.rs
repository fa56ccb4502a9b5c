//! Command-line interface of the `threatmapper` binary.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write};

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use threatmapper_core::{Extracted, Extractor, ObservableKind, Warninglist};

/// ThreatMapper: an analyst-controlled threat-intelligence pipeline.
#[derive(Debug, Parser)]
#[command(name = "threatmapper", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (API, page, scheduler). Settings come from the
    /// environment and an optional `.env`: DATABASE_URL, BIND, AUTH_ENABLED,
    /// AUTH_TRUSTED_PROXIES, AUTH_PROXY_SECRET, MAX_BODY_BYTES,
    /// SCHEDULER_TICK, FETCH_* and RDAP_* (see the README).
    Serve(ServeArgs),
    /// Collect feed sources once, as the scheduler would.
    Collect(CollectArgs),
    /// Enrich an IPv4 or domain observable from RDAP and store the evidence.
    Enrich(EnrichArgs),
    /// Extract observables (CVE, IPv4, domains, hashes, URLs, e-mail, IPv6)
    /// from a report file or standard input, defanged forms included.
    Extract(ExtractArgs),
    /// Import an exported document (feed, STIX, MISP, ATLAS) into the intake
    /// queue as pending reports (`--dry-run`: parse and print, store nothing).
    Import(ImportArgs),
    /// Create or upgrade the database schema.
    Migrate(DbArgs),
    /// The audit trail.
    Audit {
        /// What to do with the audit trail.
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Detection rules: validate Sigma files for CI (text, JSON, SARIF, JUnit).
    Rules {
        /// What to do with rules.
        #[command(subcommand)]
        command: threatmapper_rules::cli::RulesCommand,
    },
}

/// Output format of `extract`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object keyed by kind, each an array of unique canonical values.
    Json,
    /// One `kind<TAB>value` line per unique value.
    Text,
}

/// Arguments of `threatmapper extract`.
#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// The file to read; `-` or nothing reads standard input.
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Include the byte offsets of every occurrence.
    #[arg(long)]
    pub spans: bool,
    /// Only these kinds (comma-separated, e.g. `cve,ipv4,domain`).
    #[arg(long, value_delimiter = ',')]
    pub kinds: Vec<String>,
    /// Suppress known-benign values listed in this file (exact values,
    /// `*.suffix` domains, CIDR ranges; one per line). The number suppressed is
    /// reported on standard error.
    #[arg(long, value_name = "FILE")]
    pub warninglist: Option<PathBuf>,
    /// Scanner threads (default: the number of CPUs). The output is the same
    /// for any number.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Import formats available today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// An RSS, Atom or JSON Feed document.
    Feed,
    /// A STIX 2.1 bundle or TAXII 2.1 envelope (JSON).
    Stix,
    /// MISP event JSON (`{"Event": ...}`, `{"response": [...]}` or a bare event).
    Misp,
    /// MITRE ATLAS data: ATLAS.yaml, its JSON form, or the ATLAS STIX bundle.
    Atlas,
}

/// Arguments of `threatmapper import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The document's format.
    #[arg(value_enum)]
    pub kind: ImportFormat,
    /// The file to read (`-` for standard input); for `misp`, also a feed
    /// directory (`manifest.json` and `<uuid>.json` event files).
    pub file: PathBuf,
    /// Parse and print the drafts without storing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
}

/// The database to use.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// Database URL: `sqlite://PATH` (created on first use), a plain file
    /// path, or `postgres://...`.
    #[arg(long = "db", env = "DATABASE_URL", default_value = DEFAULT_DB, value_name = "URL")]
    pub url: String,
}

/// Arguments of `threatmapper serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Listen address (overrides BIND).
    #[arg(long, value_name = "HOST:PORT")]
    pub bind: Option<String>,
    /// Database URL (overrides DATABASE_URL).
    #[arg(long = "db", value_name = "URL")]
    pub db: Option<String>,
    /// Allow local mode (no authentication, everyone is admin) on a
    /// non-loopback address. Dangerous.
    #[arg(long)]
    pub allow_unauthenticated_remote: bool,
}

/// Arguments of `threatmapper collect`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["source", "all_due"])))]
pub struct CollectArgs {
    /// Run this source now (due or not).
    #[arg(long, value_name = "ID")]
    pub source: Option<i64>,
    /// Run every enabled source whose interval is due.
    #[arg(long)]
    pub all_due: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
}

/// Arguments of `threatmapper enrich`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["observable", "value"])))]
pub struct EnrichArgs {
    /// A stored observable's id.
    #[arg(long, value_name = "ID")]
    pub observable: Option<i64>,
    /// A value to add (as a manual observable) and enrich.
    #[arg(long, requires = "kind")]
    pub value: Option<String>,
    /// Kind of `--value`: `ipv4` or `domain`.
    #[arg(long)]
    pub kind: Option<String>,
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
}

/// The embedded default database.
pub const DEFAULT_DB: &str = "sqlite://threatmapper.db";

/// `threatmapper audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit hash chain; exit 0 when intact, 1 when an event
    /// was edited or deleted.
    Verify {
        /// The database.
        #[command(flatten)]
        db: DbArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
}

/// Largest import document read (bytes).
pub const MAX_IMPORT_BYTES: u64 = 256 << 20;

/// Rendering options.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutputOptions {
    /// Include spans.
    pub spans: bool,
}

/// Run the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Extract(args) => match extract_cmd(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(msg) => {
                eprintln!("threatmapper extract: {msg}");
                ExitCode::from(2)
            }
        },
        Command::Rules { command } => threatmapper_rules::cli::run(command),
        Command::Import(args) => import_cmd(&args),
        Command::Migrate(db) => migrate_cmd(&db),
        Command::Serve(args) => serve_cmd(&args),
        Command::Collect(args) => collect_cmd(&args),
        Command::Enrich(args) => enrich_cmd(&args),
        Command::Audit {
            command: AuditCommand::Verify { db, format },
        } => audit_verify_cmd(&db, format),
    }
}

/// Exit code for database failures (unreachable, refused, schema mismatch).
const EXIT_DATABASE: u8 = 3;

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Run `f` on a store opened (and migrated) from `db`; database errors are
/// printed with `cmd` and exit 3.
fn with_store<T>(
    cmd: &str,
    db: &DbArgs,
    f: impl AsyncFnOnce(&threatmapper_store::Store) -> Result<T, threatmapper_store::Error>,
) -> Result<T, ExitCode> {
    let rt = runtime().map_err(|m| {
        eprintln!("threatmapper {cmd}: {m}");
        ExitCode::from(EXIT_DATABASE)
    })?;
    rt.block_on(async {
        let store = threatmapper_store::Store::open(&db.url).await;
        let store = match store {
            Ok(s) => s,
            Err(e) => {
                eprintln!("threatmapper {cmd}: cannot open the database: {e}");
                return Err(ExitCode::from(EXIT_DATABASE));
            }
        };
        let r = f(&store).await;
        store.close().await;
        r.map_err(|e| {
            eprintln!("threatmapper {cmd}: {e}");
            match e {
                threatmapper_store::Error::Invalid { .. } => ExitCode::from(1),
                _ => ExitCode::from(EXIT_DATABASE),
            }
        })
    })
}

fn serve_cmd(args: &ServeArgs) -> ExitCode {
    let mut config = match crate::config::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("threatmapper serve: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(b) = &args.bind {
        match b.parse() {
            Ok(a) => config.bind = a,
            Err(_) => {
                eprintln!("threatmapper serve: --bind: `{b}` is not host:port");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(db) = &args.db {
        config.database_url = db.clone();
    }
    crate::server::init_logging(config.log_json);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(m) => {
            eprintln!("threatmapper serve: {m}");
            return ExitCode::from(EXIT_DATABASE);
        }
    };
    let opts = crate::server::ServeOptions {
        allow_unauthenticated_remote: args.allow_unauthenticated_remote,
    };
    match rt.block_on(crate::server::serve(config, opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("threatmapper serve: {e}");
            match e {
                crate::server::ServeError::Store(_) => ExitCode::from(EXIT_DATABASE),
                _ => ExitCode::from(2),
            }
        }
    }
}

fn collect_cmd(args: &CollectArgs) -> ExitCode {
    let config = match crate::config::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("threatmapper collect: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let actor = threatmapper_store::Actor::new(local_user(), &["admin"]);
    let spinner = progress_spinner("collecting".to_owned());
    let r = with_store("collect", &args.db, async |store| {
        let state = crate::server::AppState::new(store.clone(), config.clone())
            .map_err(|e| threatmapper_store::Error::Config(e.to_string()))?;
        let c = state.collector();
        match args.source {
            Some(id) => Ok(vec![crate::collect::run_now(&c, id, &actor).await?]),
            None => {
                let mut done = 0usize;
                crate::collect::run_due(&c, &actor, config.scheduler_concurrency, |r| {
                    done += 1;
                    if let Some(p) = &spinner {
                        p.set_message(format!(
                            "collected {done} source(s); last: source {} {}",
                            r.source_id, r.status
                        ));
                    }
                })
                .await
            }
        }
    });
    if let Some(p) = &spinner {
        p.finish_and_clear();
    }
    let runs = match r {
        Ok(runs) => runs,
        Err(code) => return code,
    };
    match args.format {
        Format::Json => println!("{}", serde_json::json!({ "runs": runs })),
        Format::Text => {
            for r in &runs {
                println!(
                    "source {}\t{}\tfetched {}\tnew {}\tsuppressed {}{}",
                    r.source_id,
                    r.status,
                    r.fetched,
                    r.new,
                    r.suppressed,
                    r.error
                        .as_deref()
                        .map(|e| format!("\t{e}"))
                        .unwrap_or_default()
                );
            }
            if runs.is_empty() {
                println!("no source was due");
            }
        }
    }
    ExitCode::SUCCESS
}

fn enrich_cmd(args: &EnrichArgs) -> ExitCode {
    let config = match crate::config::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("threatmapper enrich: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let kind = match args.kind.as_deref().map(str::parse::<ObservableKind>) {
        Some(Ok(k)) => Some(k),
        Some(Err(_)) => {
            eprintln!("threatmapper enrich: --kind must be ipv4 or domain");
            return ExitCode::from(2);
        }
        None => None,
    };
    let actor = threatmapper_store::Actor::new(local_user(), &["admin"]);
    let mut failure: Option<String> = None;
    let r = with_store("enrich", &args.db, async |store| {
        let state = crate::server::AppState::new(store.clone(), config.clone())
            .map_err(|e| threatmapper_store::Error::Config(e.to_string()))?;
        let id = match (args.observable, &args.value, kind) {
            (Some(id), _, _) => id,
            (None, Some(v), Some(k)) => {
                store
                    .add_manual_observable(k, v, None, None, &actor)
                    .await?
                    .0
                    .id
            }
            _ => return Ok(None),
        };
        match crate::rdap::enrich(&state, id, &actor).await {
            Ok(e) => Ok(Some(e)),
            Err(e) => {
                failure = Some(e.message);
                Ok(None)
            }
        }
    });
    match r {
        Ok(Some(e)) => {
            println!("{}", serde_json::to_string(&e).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!(
                "threatmapper enrich: {}",
                failure.unwrap_or_else(|| "nothing to enrich".to_owned())
            );
            ExitCode::from(1)
        }
        Err(code) => code,
    }
}

fn migrate_cmd(db: &DbArgs) -> ExitCode {
    match with_store("migrate", db, async |s| s.schema_version().await) {
        // Opening the store applied any pending migration.
        Ok(v) => {
            println!("{{\"schema_version\":{v}}}");
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

fn audit_verify_cmd(db: &DbArgs, format: Format) -> ExitCode {
    match with_store("audit verify", db, async |s| s.verify_audit_chain().await) {
        Ok(v) => {
            match format {
                Format::Json => println!("{}", serde_json::to_string(&v).unwrap_or_default()),
                Format::Text if v.ok => println!("audit chain intact: {} event(s)", v.checked),
                Format::Text => println!(
                    "audit chain BROKEN at event {}: {} ({} event(s) verified before it)",
                    v.first_bad_seq.unwrap_or_default(),
                    v.problem.as_deref().unwrap_or(""),
                    v.checked
                ),
            }
            if v.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(code) => code,
    }
}

fn extract_cmd(args: &ExtractArgs) -> Result<(), String> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let mut ex = Extractor::new().threads(threads).all_spans(args.spans);
    if !args.kinds.is_empty() {
        let kinds = args
            .kinds
            .iter()
            .map(|k| k.parse::<ObservableKind>().map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        ex = ex.kinds(&kinds);
    }
    if let Some(path) = &args.warninglist {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read warninglist {}: {e}", path.display()))?;
        let wl = Warninglist::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        ex = ex.warninglist(wl);
    }
    let result = match args.file.as_deref() {
        None => ex.extract_reader(io::stdin().lock()),
        Some(p) if p.as_os_str() == "-" => ex.extract_reader(io::stdin().lock()),
        Some(p) => {
            let f = File::open(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            ex.extract_reader(f)
        }
    }
    .map_err(|e| {
        let name = args
            .file
            .as_deref()
            .map_or_else(|| "standard input".to_owned(), |p| p.display().to_string());
        format!("cannot read {name}: {e}")
    })?;
    if args.warninglist.is_some() {
        eprintln!(
            "threatmapper extract: warninglist suppressed {} value(s)",
            result.suppressed
        );
    }
    let opts = OutputOptions { spans: args.spans };
    let out = match args.format {
        Format::Json => {
            let mut s = render_json(&result.observables, opts);
            s.push('\n');
            s
        }
        Format::Text => render_text(&result.observables, opts),
    };
    // The process ends right after this; freeing tens of thousands of values
    // one by one would only delay the exit.
    std::mem::forget(result);
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not an error worth reporting.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write output: {e}")),
    }
}

fn import_cmd(args: &ImportArgs) -> ExitCode {
    use std::io::Read as _;
    if args.kind == ImportFormat::Misp && args.file.is_dir() {
        return match misp_feed_dir(&args.file) {
            Ok(r) => finish_import(args, &r, None),
            Err(msg) => {
                eprintln!("threatmapper import: {msg}");
                ExitCode::from(2)
            }
        };
    }
    let mut bytes = Vec::new();
    let read = if args.file.as_os_str() == "-" {
        io::stdin()
            .lock()
            .take(MAX_IMPORT_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        File::open(&args.file).and_then(|f| {
            // Sized once from the file's length: no regrowth copies, no slack.
            let len = f
                .metadata()
                .map_or(0, |m| m.len())
                .min(MAX_IMPORT_BYTES + 1);
            bytes.reserve_exact(usize::try_from(len).unwrap_or(0).saturating_add(1));
            f.take(MAX_IMPORT_BYTES + 1).read_to_end(&mut bytes)
        })
    };
    if let Err(e) = read {
        eprintln!(
            "threatmapper import: cannot read {}: {e}",
            args.file.display()
        );
        return ExitCode::from(2);
    }
    if bytes.len() as u64 > MAX_IMPORT_BYTES {
        eprintln!(
            "threatmapper import: {} is larger than {} MiB",
            args.file.display(),
            MAX_IMPORT_BYTES >> 20
        );
        return ExitCode::from(1);
    }
    let mut catalogue = None;
    let result = match args.kind {
        ImportFormat::Stix => threatmapper_core::stix::parse(&bytes),
        ImportFormat::Feed => threatmapper_core::feed::parse(&bytes, None),
        ImportFormat::Misp => threatmapper_core::misp::parse(&bytes),
        ImportFormat::Atlas => threatmapper_core::atlas::parse(&bytes).map(|a| {
            catalogue = Some(a.catalogue);
            a.result
        }),
    };
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("threatmapper import: {}: {e}", args.file.display());
            return ExitCode::from(1);
        }
    };
    finish_import(args, &r, catalogue.as_ref())
}

/// Print (dry run) or store a parsed import.
fn finish_import(
    args: &ImportArgs,
    r: &threatmapper_core::ImportResult,
    catalogue: Option<&threatmapper_core::atlas::Catalogue>,
) -> ExitCode {
    if args.dry_run {
        return print_import(r, catalogue, args.format);
    }
    let action = match args.kind {
        ImportFormat::Feed => "import.feed",
        ImportFormat::Stix => "import.stix",
        ImportFormat::Misp => "import.misp",
        ImportFormat::Atlas => "import.atlas",
    };
    let progress = progress_spinner(format!(
        "storing {} report(s) with {} observable(s)",
        r.drafts.len(),
        r.observable_count()
    ));
    let actor = threatmapper_store::Actor::new(local_user(), &["admin"]);
    let ctx = threatmapper_store::IngestContext::new(actor, action);
    let outcome = with_store("import", &args.db, async |s| {
        s.ingest(&r.drafts, &ctx).await
    });
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    let o = match outcome {
        Ok(o) => o,
        Err(code) => return code,
    };
    let out = match args.format {
        Format::Json => {
            let v = serde_json::json!({
                "reports": o.reports,
                "suppressed": o.suppressed,
                "observables_new": o.observables_new,
                "observables_existing": o.observables_existing,
                "report_ids": o.report_ids,
                "suppressed_reports": o.suppressed_reports,
                "unsupported": r.unsupported,
                "rejected": r.rejected.len(),
                "rejections": r.rejected,
                "warnings": r.warnings,
            });
            format!("{v}\n")
        }
        Format::Text => {
            let mut s = format!(
                "stored {} report(s), suppressed {}, observables {} new / {} existing, {} unsupported, {} rejected\n",
                o.reports,
                o.suppressed,
                o.observables_new,
                o.observables_existing,
                r.unsupported,
                r.rejected.len()
            );
            for x in &o.suppressed_reports {
                let _ = writeln!(
                    s,
                    "suppressed\t{}\tsame {} as report {}",
                    x.title,
                    x.matched,
                    x.existing_id.map(|i| i.to_string()).unwrap_or_default()
                );
            }
            for x in &r.rejected {
                let _ = writeln!(s, "rejected\t{}\t{}", x.location, x.reason);
            }
            for w in &r.warnings {
                let _ = writeln!(s, "warning\t{w}");
            }
            s
        }
    };
    print!("{out}");
    ExitCode::SUCCESS
}

/// The user name recorded for command-line changes.
fn local_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|| "cli".to_owned())
}

/// A spinner on standard error when it is a terminal.
fn progress_spinner(msg: String) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal as _;
    if !io::stderr().is_terminal() {
        return None;
    }
    let p = indicatif::ProgressBar::new_spinner();
    p.set_message(msg);
    p.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(p)
}

/// Print an import result in the chosen format.
fn print_import(
    r: &threatmapper_core::ImportResult,
    catalogue: Option<&threatmapper_core::atlas::Catalogue>,
    format: Format,
) -> ExitCode {
    let out = match format {
        Format::Json => {
            // Streamed: a large import is never copied into a JSON tree.
            #[derive(serde::Serialize)]
            struct DryRun<'r> {
                reports: usize,
                observables: usize,
                unsupported: usize,
                rejected: usize,
                rejections: &'r [threatmapper_core::Rejected],
                warnings: &'r [String],
                drafts: &'r [threatmapper_core::ReportDraft],
                #[serde(skip_serializing_if = "Option::is_none")]
                tactics: Option<usize>,
                #[serde(skip_serializing_if = "Option::is_none")]
                techniques: Option<usize>,
            }
            let v = DryRun {
                reports: r.drafts.len(),
                observables: r.observable_count(),
                unsupported: r.unsupported,
                rejected: r.rejected.len(),
                rejections: &r.rejected,
                warnings: &r.warnings,
                drafts: &r.drafts,
                tactics: catalogue.map(|c| c.tactics.len()),
                techniques: catalogue.map(|c| c.techniques.len()),
            };
            let mut w = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
            let written = serde_json::to_writer(&mut w, &v)
                .map_err(io::Error::from)
                .and_then(|()| w.write_all(b"\n"))
                .and_then(|()| w.flush());
            return match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("threatmapper import: cannot write the result: {e}");
                    ExitCode::from(2)
                }
            };
        }
        Format::Text => {
            let mut s = format!(
                "{} report(s), {} observable(s), {} unsupported, {} rejected\n",
                r.drafts.len(),
                r.observable_count(),
                r.unsupported,
                r.rejected.len()
            );
            for d in &r.drafts {
                let _ = writeln!(
                    s,
                    "report\t{}\t{} observable(s)",
                    d.title,
                    d.observables.len()
                );
            }
            for x in &r.rejected {
                let _ = writeln!(s, "rejected\t{}\t{}", x.location, x.reason);
            }
            for w in &r.warnings {
                let _ = writeln!(s, "warning\t{w}");
            }
            s
        }
    };
    print!("{out}");
    ExitCode::SUCCESS
}

/// A MISP feed directory: the events `manifest.json` lists (or, without a
/// manifest, every `*.json` file), each parsed on its own; a missing or
/// invalid event file is a rejection naming it, not a failure of the rest.
fn misp_feed_dir(dir: &std::path::Path) -> Result<threatmapper_core::ImportResult, String> {
    let manifest = dir.join("manifest.json");
    let files: Vec<PathBuf> = if manifest.is_file() {
        let text = std::fs::read_to_string(&manifest)
            .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}:{}:{}: {e}", manifest.display(), e.line(), e.column()))?;
        let obj = v.as_object().ok_or_else(|| {
            format!(
                "{}: a manifest is an object of event uuids",
                manifest.display()
            )
        })?;
        obj.keys()
            .map(|uuid| dir.join(format!("{uuid}.json")))
            .collect()
    } else {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        v.sort();
        v
    };
    let mut all = threatmapper_core::ImportResult::default();
    for f in files {
        let name = f.display().to_string();
        let parsed = std::fs::read(&f)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|b| threatmapper_core::misp::parse(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(r) => {
                all.drafts.extend(r.drafts);
                all.unsupported += r.unsupported;
                all.rejected.extend(r.rejected.into_iter().map(|mut x| {
                    x.location = format!("{name}: {}", x.location);
                    x
                }));
                all.warnings
                    .extend(r.warnings.into_iter().map(|w| format!("{name}: {w}")));
            }
            Err(reason) => all.rejected.push(threatmapper_core::Rejected {
                location: name,
                reason,
            }),
        }
    }
    Ok(all)
}

/// The JSON shape of `extract`: an object with one key per kind (all present,
/// in the order cve, ipv4, domain, md5, sha256, url, email, sha1, ipv6), each an
/// array of values in first-appearance order — or, with spans, of
/// `{"value": ..., "spans": [[start, end], ...]}` objects.
pub fn render_json(items: &[Extracted], opts: OutputOptions) -> String {
    let mut s = String::with_capacity(items.iter().map(|o| o.value.len() + 3).sum::<usize>() + 128);
    s.push('{');
    for (ki, kind) in ObservableKind::ALL.iter().enumerate() {
        if ki > 0 {
            s.push(',');
        }
        let _ = write!(s, "\"{}\":[", kind.as_str());
        let mut first = true;
        for o in items.iter().filter(|o| o.kind == *kind) {
            if !first {
                s.push(',');
            }
            first = false;
            if opts.spans {
                s.push_str("{\"value\":");
                push_json_string(&mut s, &o.value);
                s.push_str(",\"spans\":[");
                for (i, sp) in o.spans.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    let _ = write!(s, "[{},{}]", sp.start, sp.end);
                }
                s.push_str("]}");
            } else {
                push_json_string(&mut s, &o.value);
            }
        }
        s.push(']');
    }
    s.push('}');
    s
}

/// Append `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The text shape of `extract`: `kind<TAB>value` (plus `<TAB>start-end,...`
/// with spans), one line per unique value in first-appearance order.
pub fn render_text(items: &[Extracted], opts: OutputOptions) -> String {
    let mut s = String::new();
    for o in items {
        let _ = write!(s, "{}\t{}", o.kind, o.value.replace(['\n', '\t'], " "));
        if opts.spans {
            let spans: Vec<String> = o
                .spans
                .iter()
                .map(|sp| format!("{}-{}", sp.start, sp.end))
                .collect();
            let _ = write!(s, "\t{}", spans.join(","));
        }
        s.push('\n');
    }
    s
}
