//! Extract the observables of a report file and print them grouped by kind.
//!
//! ```sh
//! cargo run --example extract_report -- path/to/report.txt
//! ```
//! Without an argument it runs on a built-in sample report.

use std::collections::BTreeMap;

fn main() -> std::io::Result<()> {
    let text = match std::env::args().nth(1) {
        Some(path) => std::fs::read(&path)?,
        None => SAMPLE.as_bytes().to_vec(),
    };
    let found = threatmapper_core::extract_bytes(&text);
    let mut by_kind: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for o in &found {
        by_kind.entry(o.kind.as_str()).or_default().push(&o.value);
    }
    for (kind, values) in by_kind {
        println!("{kind} ({}):", values.len());
        for v in values {
            println!("  {v}");
        }
    }
    Ok(())
}

const SAMPLE: &str = "\
Threat actors exploited CVE-2023-4966 (Citrix Bleed) and cve 2021-44228.
Initial access came from 185.220.101[.]45 and the loader fetched
hxxps://update-check[.]example-cdn[.]net/dl/stage2.bin, which beacons to
c2 dot badhost dot ru over port 443. Phishing mails came from
billing[at]invoices-portal[.]com. Stage 2 SHA-256:
9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08
Benign noise: version 10.0.19045.2965, System.Net.WebClient, invoice.pdf.
";
