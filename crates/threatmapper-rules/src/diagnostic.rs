//! Diagnostics: what the validator reports.

use serde::Serialize;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational only.
    Info,
    /// Not production-ready until addressed (e.g. a placeholder remains).
    Warning,
    /// The rule is invalid.
    Error,
}

impl Severity {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding, located at a 1-based line and column (0 when not tied to a
/// place in the text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Severity.
    pub severity: Severity,
    /// Stable code (see the table in `docs/RULES.md`).
    pub code: &'static str,
    /// What is wrong, in words.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Diagnostic {
    /// A diagnostic at a position.
    pub fn new(
        severity: Severity,
        code: &'static str,
        message: impl Into<String>,
        line: usize,
        column: usize,
    ) -> Self {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            line,
            column,
        }
    }
}

/// Readiness of a rule, from its diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No errors and no warnings.
    Ready,
    /// Only warnings (such as a remaining `REPLACE_WITH_BEHAVIOR`).
    NeedsAnalyst,
    /// At least one error.
    Invalid,
}

impl Status {
    /// The status implied by a list of diagnostics.
    pub fn of(diags: &[Diagnostic]) -> Status {
        if diags.iter().any(|d| d.severity == Severity::Error) {
            Status::Invalid
        } else if diags.iter().any(|d| d.severity == Severity::Warning) {
            Status::NeedsAnalyst
        } else {
            Status::Ready
        }
    }

    /// snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ready => "ready",
            Status::NeedsAnalyst => "needs_analyst",
            Status::Invalid => "invalid",
        }
    }
}
