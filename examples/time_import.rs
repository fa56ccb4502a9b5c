//! Time one importer on one file inside this process: the best of N calls of
//! the parse function alone, as the peer scripts time the Python parsers.
//!
//! ```sh
//! cargo run --release --example time_import -- stix|feed|misp|atlas|feed-rs FILE [RUNS]
//! ```
//! Prints one line: `seconds reports observables entries_or_objects`, where
//! the last field counts feed entries (reports) or STIX objects. `feed-rs`
//! times the feed-rs parser alone (no drafts, no extraction): the floor under
//! the feed importer.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(kind), Some(path)) = (args.next(), args.next()) else {
        eprintln!("usage: time_import stix|feed|misp|atlas|feed-rs FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("time_import: cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    if kind == "feed-rs" {
        let (best, r) = best_of(runs, || {
            feed_rs::parser::parse(std::hint::black_box(bytes.as_slice()))
        });
        let entries = r.map_or(0, |f| f.entries.len());
        println!("{best:.9} {entries} 0 {entries}");
        return;
    }
    let parse = |b: &[u8]| match kind.as_str() {
        "stix" => threatmapper_core::stix::parse(b),
        "feed" => threatmapper_core::feed::parse(b, None),
        "misp" => threatmapper_core::misp::parse(b),
        "atlas" => threatmapper_core::atlas::parse(b).map(|a| a.result),
        other => {
            eprintln!("time_import: unknown kind {other}");
            std::process::exit(2);
        }
    };
    let (best, last) = best_of(runs, || parse(std::hint::black_box(&bytes)));
    match last {
        Ok(r) => {
            // STIX counts objects (what stix2.parse is timed on); the other
            // formats count reports.
            let units = if kind == "stix" {
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("objects")?.as_array().map(Vec::len))
                    .unwrap_or(0)
            } else {
                r.drafts.len()
            };
            println!(
                "{best:.9} {} {} {units}",
                r.drafts.len(),
                r.observable_count()
            );
        }
        Err(e) => {
            eprintln!("time_import: {path}: {e}");
            std::process::exit(1);
        }
    }
}

/// The best wall time of `runs` calls (at least one) and the last result.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let t = Instant::now();
    let mut last = f();
    let mut best = t.elapsed().as_secs_f64();
    for _ in 1..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        // The previous result is dropped outside the timed span.
        last = r;
    }
    (best, last)
}
