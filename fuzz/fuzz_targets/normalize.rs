//! Fuzz the dedup-key normalisers: no panic, and both are idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threatmapper_core::{canonical_report_url, normalized_title};

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let t = normalized_title(&s);
    assert_eq!(normalized_title(&t), t);
    if let Ok(u) = canonical_report_url(&s) {
        assert_eq!(canonical_report_url(&u).ok().as_deref(), Some(u.as_str()));
    }
});
