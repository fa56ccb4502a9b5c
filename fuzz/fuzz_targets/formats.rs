//! Fuzz every import parser (feed, STIX bundle and pattern, MISP, ATLAS): no
//! input may panic, and every draft observable is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threatmapper_core::{ImportResult, atlas, canonical_observable, feed, misp, stix};

fn check(r: &ImportResult) {
    for d in &r.drafts {
        for o in &d.observables {
            assert_eq!(
                canonical_observable(o.kind, &o.value).ok().as_deref(),
                Some(o.value.as_str())
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The feed importer contains a dependency's panic (quick-xml) with
    // catch_unwind; libfuzzer-sys's hook would abort before that can happen.
    // Restore the default hook: a panic our code does not catch still reaches
    // libfuzzer-sys's own catch_unwind, which aborts and records the input.
    static RESET: std::sync::Once = std::sync::Once::new();
    RESET.call_once(|| drop(std::panic::take_hook()));
    if let Ok(r) = feed::parse(data, Some("https://feeds.example.org/f")) {
        check(&r);
    }
    if let Ok(r) = stix::parse(data) {
        check(&r);
    }
    if let Ok(r) = misp::parse(data) {
        check(&r);
    }
    if let Ok(a) = atlas::parse(data) {
        check(&a.result);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = stix::pattern::parse(s);
    }
});
