//! Shared helpers for the conformance tests.

use std::path::{Path, PathBuf};

/// `../shared/corpus/<sub>` (or `$THREATMAPPER_CORPUS/<sub>`), or `None` with
/// a note on stderr when it is absent, so the caller skips saying so.
pub(crate) fn corpus(sub: &str) -> Option<PathBuf> {
    let d = std::env::var_os("THREATMAPPER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"))
        .join(sub);
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!("corpus not found at {}: skipping", d.display());
        None
    }
}
