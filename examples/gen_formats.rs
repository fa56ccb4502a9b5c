//! Write the deterministic import benchmark inputs.
//!
//! ```sh
//! cargo run --release --example gen_formats -- OUT_DIR [STIX_INDICATORS] [FEED_ENTRIES]
//! ```
//! Writes OUT_DIR/bundle.json and OUT_DIR/feed.xml (used by benches/peers/formats.sh).

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: gen_formats OUT_DIR [STIX_INDICATORS] [FEED_ENTRIES]");
        std::process::exit(2);
    };
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let m: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(500);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        format!("{dir}/bundle.json"),
        threatmapper_suite::stix_bundle(n, 7),
    )?;
    std::fs::write(
        format!("{dir}/feed.xml"),
        threatmapper_suite::rss_feed(m, 7),
    )?;
    Ok(())
}
