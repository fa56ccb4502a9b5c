//! Criterion bench: Sigma validation of the corpus rules
//! (`../shared/corpus/sigma/rules`, or `$THREATMAPPER_CORPUS/sigma/rules`).
//! Prints a note and benches nothing when the corpus is absent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if matches!(p.extension().and_then(|x| x.to_str()), Some("yml" | "yaml")) {
            out.push(p);
        }
    }
}

fn bench(c: &mut Criterion) {
    let dir = std::env::var_os("THREATMAPPER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
        .join("sigma/rules");
    let mut paths = Vec::new();
    files(&dir, &mut paths);
    if paths.is_empty() {
        eprintln!("no Sigma corpus at {}: nothing to bench", dir.display());
        return;
    }
    let texts: Vec<String> = paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("validate_sigma_corpus", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| threatmapper_rules::sigma::validate(std::hint::black_box(t)).len())
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
