//! The crate's error type.

/// Everything that can go wrong in `threatmapper-core`.
///
/// Each variant says what was wrong and where, so that callers (the CLI, the
/// HTTP service, the Python module) can show a located message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An observable kind name that ThreatMapper does not know.
    #[error(
        "unknown observable kind `{kind}` (expected one of cve, ipv4, domain, md5, sha256, url, email, sha1, ipv6)"
    )]
    UnknownKind {
        /// The name as given.
        kind: String,
    },
    /// A value that is not a valid observable of the stated kind.
    #[error("`{value}` is not a valid {kind} observable: {reason}")]
    InvalidObservable {
        /// The kind the caller asked for.
        kind: crate::ObservableKind,
        /// The value as given (truncated to 200 bytes).
        value: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A report URL that cannot be turned into a dedup key.
    #[error("invalid report URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given (truncated to 200 bytes).
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// An import document that cannot be read at all (not JSON, not a bundle,
    /// an unsupported version); per-object problems are reported as rejections
    /// instead, and the rest of the document still imports.
    #[error("{format} {location}: {reason}")]
    Format {
        /// The format (`STIX`, `MISP`, `feed`, `ATLAS`).
        format: &'static str,
        /// Where: a JSON path, a line and column, or a byte offset.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// A warninglist entry that cannot be parsed.
    #[error("warninglist line {line}: {reason}")]
    InvalidWarninglist {
        /// 1-based line number in the warninglist text.
        line: usize,
        /// Why the entry was refused.
        reason: String,
    },
}

/// The crate's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Truncate a user-supplied value for inclusion in an error message.
pub(crate) fn clip(s: &str) -> String {
    if s.len() <= 200 {
        return s.to_owned();
    }
    let mut end = 200;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
