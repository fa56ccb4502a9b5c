//! Extraction over the public sample corpus (`../shared/corpus`, or the folder
//! named by `THREATMAPPER_CORPUS`). Skipped, saying so, when it is absent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use threatmapper_core::{Extractor, ObservableKind, extract_bytes};

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("THREATMAPPER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "corpus not found at {}: skipping corpus tests",
            dir.display()
        );
        None
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_corpus_file_extracts_and_streams_identically() {
    let Some(dir) = corpus() else { return };
    let mut all = Vec::new();
    files(&dir, &mut all);
    assert!(!all.is_empty());
    for p in all {
        let bytes = std::fs::read(&p).unwrap();
        let whole = extract_bytes(&bytes);
        let streamed = Extractor::new()
            .chunk_size(4096)
            .extract_reader(bytes.as_slice())
            .unwrap()
            .observables;
        assert_eq!(whole, streamed, "{}", p.display());
        for o in &whole {
            for s in &o.spans {
                assert!(s.end <= bytes.len());
            }
        }
    }
}

#[test]
fn poison_ivy_report_observables() {
    let Some(dir) = corpus() else { return };
    let bytes = std::fs::read(dir.join("stix/poisonivy.json")).unwrap();
    let found = extract_bytes(&bytes);
    let has = |k: ObservableKind, v: &str| found.iter().any(|o| o.kind == k && o.value == v);
    assert!(has(ObservableKind::Cve, "CVE-2012-0158"));
    assert!(has(ObservableKind::Ipv4, "219.76.208.163"));
    assert!(has(ObservableKind::Domain, "www.webserver.dynssl.com"));
    assert!(has(ObservableKind::Md5, "808e21d6efa2884811fbd0adf67fda78"));
    // JSON keys such as `spec_version` or `x_mitre.version` are never domains.
    assert!(found.iter().all(|o| !o.value.starts_with("x_")));
}
