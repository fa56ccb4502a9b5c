//! Write the deterministic report-like benchmark corpus to a file.
//!
//! ```sh
//! cargo run --release --example gen_corpus -- OUT.txt [MEGABYTES] [SEED]
//! ```
//! Used by `benches/peers/extract.sh` so that every tool reads the same bytes.

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: gen_corpus OUT.txt [MEGABYTES] [SEED]");
        std::process::exit(2);
    };
    let mb: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20);
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(42);
    let text = threatmapper_suite::report_corpus(mb << 20, seed);
    std::fs::write(&out, text)?;
    Ok(())
}
