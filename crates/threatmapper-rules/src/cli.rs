//! `rules validate`: the validator for CI, shared by the light
//! `threatmapper-rules` binary and `threatmapper rules`.
//!
//! Exit status: 0 clean, 1 when any rule has an error (or a warning with
//! `--deny-warnings`), 2 on usage or I/O errors. Every file is validated even
//! when earlier ones fail.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use serde_json::json;

use crate::diagnostic::{Diagnostic, Severity, Status};
use crate::sigma;

/// Subcommands of `rules`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate rule files and directories (`.yml`/`.yaml` as Sigma, `.kql`,
    /// `.spl`, `.eql` by extension).
    Validate(ValidateArgs),
    /// Print rule skeletons generated from a report (JSON).
    Generate(GenerateArgs),
}

/// Arguments of `rules generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// The report as JSON: `{"id", "title", "description", "references": [..],
    /// "labels": [..], "observables": [{"kind", "value"}]}`.
    #[arg(long, value_name = "FILE.json")]
    pub report: PathBuf,
    /// Language: sigma, kql, spl, eql or all.
    #[arg(long, default_value = "all")]
    pub lang: String,
    /// Author written into Sigma rules.
    #[arg(long, default_value = "ThreatMapper")]
    pub author: String,
    /// Rule date (YYYY-MM-DD); default today (UTC).
    #[arg(long)]
    pub date: Option<String>,
    /// Rule id (UUID); default a fresh random one.
    #[arg(long)]
    pub rule_id: Option<String>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `path:line:col: severity[code]: message` lines and a summary.
    Text,
    /// `{"files": [...], "summary": {...}}`.
    Json,
    /// SARIF 2.1.0, for code-scanning upload.
    Sarif,
    /// JUnit XML, one test case per file.
    Junit,
}

/// Arguments of `rules validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Files or directories (walked recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Fail (exit 1) on warnings too, such as a remaining REPLACE_WITH_BEHAVIOR.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// The result for one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The path as given (or found under a given directory).
    pub path: String,
    /// The rule language.
    pub language: &'static str,
    /// Diagnostics, in order of position.
    pub diagnostics: Vec<Diagnostic>,
}

impl FileReport {
    /// Readiness of the file.
    pub fn status(&self) -> Status {
        Status::of(&self.diagnostics)
    }
}

/// Run a `rules` subcommand; returns the exit code.
pub fn run(cmd: RulesCommand) -> ExitCode {
    match cmd {
        RulesCommand::Validate(args) => validate_cmd(&args),
        RulesCommand::Generate(args) => match generate_cmd(&args) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err((code, msg)) => {
                eprintln!("threatmapper rules generate: {msg}");
                ExitCode::from(code)
            }
        },
    }
}

fn validate_cmd(args: &ValidateArgs) -> ExitCode {
    let mut io_errors = Vec::new();
    let mut files = Vec::new();
    for p in &args.paths {
        collect(p, &mut files, &mut io_errors);
    }
    // Validate files on every CPU; results are put back in input order.
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8);
    let per = files.len().div_ceil(threads).max(1);
    let results: Vec<Result<(FileReport, Vec<sigma::RuleIdentity>), String>> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = files
                .chunks(per)
                .map(|chunk| {
                    scope.spawn(move || chunk.iter().map(|f| check_file(f)).collect::<Vec<_>>())
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| match h.join() {
                    Ok(v) => v,
                    Err(p) => std::panic::resume_unwind(p),
                })
                .collect()
        });
    let mut reports = Vec::new();
    let mut idents = Vec::new();
    for r in results {
        match r {
            Err(e) => io_errors.push(e),
            Ok((report, ids)) => {
                idents.extend(ids.into_iter().map(|i| (reports.len(), i)));
                reports.push(report);
            }
        }
    }
    let names: Vec<&str> = reports.iter().map(|r| r.path.as_str()).collect();
    let cross = sigma::cross_file(&idents, &names);
    for (file, d) in cross {
        if let Some(r) = reports.get_mut(file) {
            r.diagnostics.push(d);
        }
    }
    for r in &mut reports {
        r.diagnostics.sort_by_key(|d| (d.line, d.column));
    }
    let out = match args.format {
        Format::Text => render_text(&reports),
        Format::Json => render_json(&reports),
        Format::Sarif => render_sarif(&reports),
        Format::Junit => render_junit(&reports),
    };
    print!("{out}");
    for e in &io_errors {
        eprintln!("threatmapper rules validate: {e}");
    }
    if !io_errors.is_empty() {
        return ExitCode::from(2);
    }
    let failing = reports.iter().any(|r| match r.status() {
        Status::Invalid => true,
        Status::NeedsAnalyst => args.deny_warnings,
        Status::Ready => false,
    });
    if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The report file `rules generate` reads.
#[derive(Debug, serde::Deserialize)]
struct ReportFile {
    #[serde(default)]
    id: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    observables: Vec<ObservableEntry>,
}

#[derive(Debug, serde::Deserialize)]
struct ObservableEntry {
    kind: String,
    value: String,
}

fn generate_cmd(args: &GenerateArgs) -> Result<String, (u8, String)> {
    use crate::generate::{Language, RuleContext, generate};
    let text = std::fs::read_to_string(&args.report)
        .map_err(|e| (2, format!("cannot read {}: {e}", args.report.display())))?;
    let report: ReportFile = serde_json::from_str(&text).map_err(|e| {
        (
            1,
            format!("{}:{}:{}: {e}", args.report.display(), e.line(), e.column()),
        )
    })?;
    let mut observables = Vec::new();
    for (i, o) in report.observables.iter().enumerate() {
        let kind: threatmapper_core::ObservableKind = o
            .kind
            .parse()
            .map_err(|e| (1, format!("observables[{i}].kind: {e}")))?;
        let value = threatmapper_core::canonical_observable(kind, &o.value)
            .map_err(|e| (1, format!("observables[{i}].value: {e}")))?;
        observables.push((kind, value));
    }
    let langs: Vec<Language> = if args.lang.eq_ignore_ascii_case("all") {
        Language::ALL.to_vec()
    } else {
        vec![Language::parse(&args.lang).ok_or_else(|| {
            (
                2,
                format!(
                    "unknown --lang `{}` (sigma, kql, spl, eql or all)",
                    args.lang
                ),
            )
        })?]
    };
    let date = match &args.date {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|e| (2, format!("--date `{d}`: {e}")))?,
        None => chrono::Utc::now().date_naive(),
    };
    let rule_id = match &args.rule_id {
        Some(r) => uuid::Uuid::parse_str(r).map_err(|e| (2, format!("--rule-id `{r}`: {e}")))?,
        None => uuid::Uuid::new_v4(),
    };
    let ctx = RuleContext {
        report_id: &report.id,
        title: &report.title,
        description: &report.description,
        references: &report.references,
        labels: &report.labels,
        observables: &observables,
        author: &args.author,
        date,
        rule_id,
    };
    let mut out = String::new();
    for (i, lang) in langs.iter().enumerate() {
        if langs.len() > 1 {
            let sep = match lang {
                Language::Sigma => "#",
                Language::Kql | Language::Eql => "//",
                Language::Spl => "```",
            };
            let end = if *lang == Language::Spl { " ```" } else { "" };
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "{sep} ==== {} ===={end}", lang.as_str());
        }
        out.push_str(&generate(*lang, &ctx));
    }
    Ok(out)
}

/// Read and validate one file.
fn check_file(f: &Path) -> Result<(FileReport, Vec<sigma::RuleIdentity>), String> {
    let path = f.display().to_string();
    let bytes = std::fs::read(f).map_err(|e| format!("{path}: cannot read: {e}"))?;
    let lang = f
        .extension()
        .and_then(|x| x.to_str())
        .and_then(crate::generate::Language::from_extension)
        .unwrap_or(crate::generate::Language::Sigma);
    let (diagnostics, ids) = match String::from_utf8(bytes) {
        Ok(text) if lang == crate::generate::Language::Sigma => {
            sigma::validate_with_identity(&text)
        }
        Ok(text) => (crate::validate(lang, &text), Vec::new()),
        Err(e) => (
            vec![Diagnostic::new(
                Severity::Error,
                match lang {
                    crate::generate::Language::Sigma => "SIGMA000",
                    crate::generate::Language::Kql => "KQL001",
                    crate::generate::Language::Spl => "SPL001",
                    crate::generate::Language::Eql => "EQL001",
                },
                format!(
                    "not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
                1,
                1,
            )],
            Vec::new(),
        ),
    };
    Ok((
        FileReport {
            path,
            language: lang.as_str(),
            diagnostics,
        },
        ids,
    ))
}

/// Files to validate under a path: the path itself if it is a file, else every
/// `.yml`, `.yaml`, `.kql`, `.spl` and `.eql` file below it, in sorted order.
fn collect(p: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<String>) {
    if p.is_file() {
        out.push(p.to_path_buf());
        return;
    }
    let rd = match std::fs::read_dir(p) {
        Ok(rd) => rd,
        Err(e) => {
            errors.push(format!("{}: {e}", p.display()));
            return;
        }
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            collect(&e, out, errors);
        } else if e
            .extension()
            .and_then(|x| x.to_str())
            .and_then(crate::generate::Language::from_extension)
            .is_some()
        {
            out.push(e);
        }
    }
}

fn summary(reports: &[FileReport]) -> serde_json::Value {
    let count = |s: Status| reports.iter().filter(|r| r.status() == s).count();
    let sev = |s: Severity| {
        reports
            .iter()
            .flat_map(|r| &r.diagnostics)
            .filter(|d| d.severity == s)
            .count()
    };
    json!({
        "files": reports.len(),
        "ready": count(Status::Ready),
        "needs_analyst": count(Status::NeedsAnalyst),
        "invalid": count(Status::Invalid),
        "errors": sev(Severity::Error),
        "warnings": sev(Severity::Warning),
    })
}

/// Text output: one line per diagnostic, then a summary line.
pub fn render_text(reports: &[FileReport]) -> String {
    let mut s = String::new();
    for r in reports {
        for d in &r.diagnostics {
            let _ = writeln!(
                s,
                "{}:{}:{}: {}[{}]: {}",
                r.path,
                d.line,
                d.column,
                d.severity.as_str(),
                d.code,
                d.message
            );
        }
    }
    let sm = summary(reports);
    let _ = writeln!(
        s,
        "{} file(s): {} ready, {} needs_analyst, {} invalid",
        sm["files"], sm["ready"], sm["needs_analyst"], sm["invalid"]
    );
    s
}

/// JSON output.
pub fn render_json(reports: &[FileReport]) -> String {
    let files: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            json!({
                "path": r.path,
                "language": r.language,
                "status": r.status().as_str(),
                "diagnostics": r.diagnostics,
            })
        })
        .collect();
    let mut s = json!({"files": files, "summary": summary(reports)}).to_string();
    s.push('\n');
    s
}

/// SARIF 2.1.0 output.
pub fn render_sarif(reports: &[FileReport]) -> String {
    let mut codes: Vec<&str> = reports
        .iter()
        .flat_map(|r| r.diagnostics.iter().map(|d| d.code))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let results: Vec<serde_json::Value> = reports
        .iter()
        .flat_map(|r| {
            r.diagnostics.iter().map(move |d| {
                json!({
                    "ruleId": d.code,
                    "level": match d.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                        Severity::Info => "note",
                    },
                    "message": {"text": d.message},
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": {"uri": r.path.replace('\\', "/")},
                            "region": {"startLine": d.line.max(1), "startColumn": d.column.max(1)}
                        }
                    }]
                })
            })
        })
        .collect();
    let mut s = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "threatmapper",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": codes.iter().map(|c| json!({"id": c})).collect::<Vec<_>>(),
            }},
            "results": results,
        }]
    })
    .to_string();
    s.push('\n');
    s
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML output: one test case per file, failed when it is invalid (a
/// needs-analyst file is a passing case with its warnings in system-out).
pub fn render_junit(reports: &[FileReport]) -> String {
    let failures = reports
        .iter()
        .filter(|r| r.status() == Status::Invalid)
        .count();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites tests=\"{}\" failures=\"{failures}\">\n  <testsuite name=\"threatmapper rules validate\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">",
        reports.len(),
        reports.len()
    );
    for r in reports {
        let lines: Vec<String> = r
            .diagnostics
            .iter()
            .map(|d| {
                format!(
                    "{}:{}: {}[{}]: {}",
                    d.line,
                    d.column,
                    d.severity.as_str(),
                    d.code,
                    d.message
                )
            })
            .collect();
        let _ = write!(
            s,
            "    <testcase name=\"{}\" classname=\"{}\"",
            xml_escape(&r.path),
            r.language
        );
        match r.status() {
            Status::Ready => s.push_str("/>\n"),
            Status::NeedsAnalyst => {
                let _ = writeln!(
                    s,
                    ">\n      <system-out>{}</system-out>\n    </testcase>",
                    xml_escape(&lines.join("\n"))
                );
            }
            Status::Invalid => {
                let first = r
                    .diagnostics
                    .iter()
                    .find(|d| d.severity == Severity::Error)
                    .map(|d| d.message.as_str())
                    .unwrap_or("invalid");
                let _ = writeln!(
                    s,
                    ">\n      <failure message=\"{}\" type=\"invalid\">{}</failure>\n    </testcase>",
                    xml_escape(first),
                    xml_escape(&lines.join("\n"))
                );
            }
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}
