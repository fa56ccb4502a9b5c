//! Fuzz the extractor: no input may panic, spans stay in bounds, every value
//! canonicalises to itself, and streaming equals whole-input extraction.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threatmapper_core::{Extractor, canonical_observable, extract_bytes};

fuzz_target!(|data: &[u8]| {
    let whole = extract_bytes(data);
    for o in &whole {
        for s in &o.spans {
            assert!(s.start < s.end && s.end <= data.len());
        }
        assert_eq!(
            canonical_observable(o.kind, &o.value).ok().as_deref(),
            Some(o.value.as_str())
        );
    }
    if data.len() > 4096 {
        let streamed = Extractor::new()
            .chunk_size(4096)
            .extract_reader(data)
            .map(|e| e.observables)
            .unwrap_or_default();
        assert_eq!(streamed, whole);
    }
});
