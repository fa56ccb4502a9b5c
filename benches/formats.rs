//! Criterion benches per import format: STIX bundle parse+normalise
//! (objects/s) and RSS feed parse with observable extraction (entries/s), on
//! the deterministic inputs of `support/lib.rs`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let bundle = threatmapper_suite::stix_bundle(10_000, 7);
    let feed = threatmapper_suite::rss_feed(500, 7);
    let mut g = c.benchmark_group("formats");
    g.sample_size(10);
    g.throughput(Throughput::Elements(10_002));
    g.bench_function("stix_10k_indicators", |b| {
        b.iter(|| threatmapper_core::stix::parse(std::hint::black_box(bundle.as_bytes())))
    });
    g.throughput(Throughput::Elements(500));
    g.bench_function("rss_500_entries", |b| {
        b.iter(|| threatmapper_core::feed::parse(std::hint::black_box(feed.as_bytes()), None))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
