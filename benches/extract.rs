//! Criterion bench: extraction of all kinds in one pass over a deterministic
//! ~20 MB report-like corpus (see `support/lib.rs`).
//!
//! `cargo bench --bench extract` (set `TM_BENCH_MB` for another size).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let mb: usize = std::env::var("TM_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let corpus = threatmapper_suite::report_corpus(mb << 20, 42);
    let mut g = c.benchmark_group("extract");
    g.throughput(Throughput::Bytes(corpus.len() as u64));
    g.sample_size(10);
    g.bench_function("all_kinds", |b| {
        b.iter(|| threatmapper_core::extract_bytes(std::hint::black_box(corpus.as_bytes())))
    });
    g.bench_function("streaming_all_kinds", |b| {
        b.iter(|| threatmapper_core::extract_reader(std::hint::black_box(corpus.as_bytes())))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
