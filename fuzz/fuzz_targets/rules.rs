//! Fuzz the rule validators (Sigma YAML, condition grammar, KQL/SPL/EQL
//! tokenizers): no input may panic, and positions stay inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threatmapper_rules::{Language, validate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // YAML counts a lone CR as a line break too.
    let lines = text.matches('\n').count() + text.matches('\r').count() + 1;
    for lang in Language::ALL {
        for d in validate(lang, text) {
            assert!(d.line <= lines, "{lang:?} {d:?}");
        }
    }
    let _ = threatmapper_rules::condition::parse(text);
});
