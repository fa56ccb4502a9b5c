//! The store's one error type.

/// Result alias for store calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in a store call, and whether retrying may help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database URL or options are unusable.
    #[error("database configuration: {0}")]
    Config(String),
    /// The database cannot be reached (down, restarting, pool exhausted,
    /// connection lost). Retryable.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Another transaction holds what this one needs (SQLite busy/locked,
    /// PostgreSQL deadlock or serialization failure) even after retries.
    /// Retryable.
    #[error("database busy: {0}")]
    Busy(String),
    /// The database refused the write: disk full, read-only file or
    /// database, or permission denied.
    #[error("database refused the write: {0}")]
    WriteRefused(String),
    /// An input value is invalid or too large; nothing was written.
    #[error("{field}: {message}")]
    Invalid {
        /// Where: a field name or a located path such as `drafts[3].title`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// No such row.
    #[error("{what} {id} not found")]
    NotFound {
        /// The kind of thing (`report`, `source`, ...).
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A unique value is already taken (a source with the same URL, ...).
    #[error("{what} already exists: {detail}")]
    Duplicate {
        /// The kind of thing.
        what: &'static str,
        /// Which value collided.
        detail: String,
    },
    /// A state change that is not allowed from the current state.
    #[error("{what} {id} is {from}; it cannot become {to}")]
    InvalidTransition {
        /// The kind of thing.
        what: &'static str,
        /// Its id.
        id: i64,
        /// Its current state.
        from: String,
        /// The state asked for.
        to: String,
    },
    /// A source is being run by another worker (its lease is held).
    #[error("source {id} is being collected by {owner} until {until}")]
    Leased {
        /// The source id.
        id: i64,
        /// The lease holder.
        owner: String,
        /// RFC 3339 end of the lease.
        until: String,
    },
    /// A migration could not be applied or the schema is not the one this
    /// build knows.
    #[error("migration {version} ({name}): {message}")]
    Migration {
        /// Migration version.
        version: i64,
        /// Migration name.
        name: String,
        /// What failed.
        message: String,
    },
    /// Any other database error.
    #[error("database error: {0}")]
    Database(String),
    /// A stored value could not be read back (a corrupt or foreign row).
    #[error("stored {what} is unreadable: {message}")]
    Corrupt {
        /// Which column or document.
        what: &'static str,
        /// Why.
        message: String,
    },
}

impl Error {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable(_) | Error::Busy(_))
    }

    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> Error {
        Error::NotFound {
            what,
            id: id.to_string(),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &e {
            E::Io(_)
            | E::Tls(_)
            | E::PoolTimedOut
            | E::PoolClosed
            | E::WorkerCrashed
            | E::Protocol(_) => Error::Unavailable(e.to_string()),
            E::Configuration(_) => Error::Config(e.to_string()),
            E::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                classify_db_code(&code, e.to_string())
            }
            _ => Error::Database(e.to_string()),
        }
    }
}

/// Map a backend error code (PostgreSQL SQLSTATE or SQLite extended result
/// code) to the error variant.
fn classify_db_code(code: &str, message: String) -> Error {
    // SQLite reports numeric extended codes (at most four digits); the
    // primary code is the low byte. PostgreSQL SQLSTATEs have five characters.
    if let Ok(n) = code.parse::<i64>()
        && code.len() < 5
    {
        return match n & 0xff {
            5 | 6 => Error::Busy(message), // SQLITE_BUSY, SQLITE_LOCKED
            8 | 13 | 3 | 23 => Error::WriteRefused(message), // READONLY, FULL, PERM, AUTH
            10 | 14 => Error::Unavailable(message), // IOERR, CANTOPEN
            _ => Error::Database(message),
        };
    }
    match code {
        "40001" | "40P01" | "55P03" => Error::Busy(message),
        "57P01" | "57P02" | "57P03" | "53300" => Error::Unavailable(message),
        c if c.starts_with("08") => Error::Unavailable(message),
        "53100" | "25006" | "42501" => Error::WriteRefused(message),
        _ => Error::Database(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        assert!(matches!(
            classify_db_code("5", String::new()),
            Error::Busy(_)
        ));
        assert!(matches!(
            classify_db_code("517", String::new()),
            Error::Busy(_)
        ));
        assert!(matches!(
            classify_db_code("13", String::new()),
            Error::WriteRefused(_)
        ));
        assert!(matches!(
            classify_db_code("1032", String::new()),
            Error::WriteRefused(_)
        ));
        assert!(matches!(
            classify_db_code("40P01", String::new()),
            Error::Busy(_)
        ));
        assert!(matches!(
            classify_db_code("57P01", String::new()),
            Error::Unavailable(_)
        ));
        assert!(matches!(
            classify_db_code("08006", String::new()),
            Error::Unavailable(_)
        ));
        assert!(matches!(
            classify_db_code("23505", String::new()),
            Error::Database(_)
        ));
        assert!(Error::Busy(String::new()).is_retryable());
        assert!(!Error::invalid("x", "y").is_retryable());
    }
}
