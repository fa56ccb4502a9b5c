//! Observable extraction: find CVE ids, IP addresses, domains, hashes, URLs and
//! e-mail addresses in free text, defanged forms included.
//!
//! See `docs/EXTRACTION.md` for the full rule book; the short version:
//! - values are canonical (refanged, lowercase hosts and hashes, IDNA domains,
//!   uppercase CVE ids, dotted-decimal IPv4 read as decimal);
//! - a value is bounded by characters other than ASCII letters and digits;
//! - a dotted token is judged whole (`update.com.exe` is nothing, never
//!   `update.com`), against the embedded Public Suffix List;
//! - output is unique by (kind, value) in order of first appearance, with every
//!   byte span where the value occurs.
//!
//! # Untrusted input
//! Extraction runs in time linear in the input: look-backs are bounded (256
//! bytes), a dotted run is consumed once however long, a URL path is read for
//! at most 2 KiB, there is no regex and no backtracking, and any byte sequence —
//! invalid UTF-8, NUL bytes, megabyte-long tokens — is accepted without
//! panicking. Memory grows with the number of
//! unique observables, not with the input when [`Extractor::extract_reader`] is
//! used.

pub(crate) mod host;
mod scan;
mod tables;

use std::hash::BuildHasher;
use std::io::{self, Read};

use hashbrown::HashTable;

use crate::warninglist::Warninglist;
use crate::{Extracted, ObservableKind, Span};
use scan::{MAX_HOST_RAW, MAX_URL, Matches, Scanner};

/// Extract every observable from a text.
///
/// ```
/// let found = threatmapper_core::extract("C2 at hxxp://evil[.]com/gate.php and 8.8.8[.]8");
/// let values: Vec<&str> = found.iter().map(|o| o.value.as_str()).collect();
/// assert_eq!(values, ["http://evil.com/gate.php", "evil.com", "8.8.8.8"]);
/// ```
pub fn extract(text: &str) -> Vec<Extracted> {
    Extractor::new().extract(text.as_bytes()).observables
}

/// Extract every observable from bytes that need not be valid UTF-8.
pub fn extract_bytes(bytes: &[u8]) -> Vec<Extracted> {
    Extractor::new().extract(bytes).observables
}

/// Extract from a reader of any size, holding only a bounded window in memory.
///
/// The result is identical to [`extract_bytes`] on the whole input.
pub fn extract_reader<R: Read>(reader: R) -> io::Result<Vec<Extracted>> {
    Ok(Extractor::new().extract_reader(reader)?.observables)
}

/// The result of an extraction with a warninglist applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extraction {
    /// Unique observables in order of first appearance.
    pub observables: Vec<Extracted>,
    /// How many unique values the warninglist removed.
    pub suppressed: usize,
}

/// A configurable extractor: which kinds to keep and which known-benign values
/// to suppress.
///
/// ```
/// use threatmapper_core::{Extractor, ObservableKind, Warninglist};
///
/// let mut wl = Warninglist::new();
/// wl.add_domain_suffix("google.com").unwrap();
/// wl.add_cidr("10.0.0.0/8").unwrap();
/// let ex = Extractor::new()
///     .kinds(&[ObservableKind::Domain, ObservableKind::Ipv4])
///     .warninglist(wl);
/// let got = ex.extract(b"beacon to evil.net, dns.google.com, 10.1.2.3 and 1.2.3.4; CVE-2024-3094");
/// let values: Vec<&str> = got.observables.iter().map(|o| o.value.as_str()).collect();
/// assert_eq!(values, ["evil.net", "1.2.3.4"]);
/// assert_eq!(got.suppressed, 2);
/// ```
#[derive(Debug, Clone)]
pub struct Extractor {
    kinds: [bool; ObservableKind::ALL.len()],
    warninglist: Option<Warninglist>,
    chunk_size: usize,
    threads: usize,
    all_spans: bool,
    explicit_hosts: bool,
}

impl Default for Extractor {
    fn default() -> Self {
        Self::new()
    }
}

/// Bytes of context kept on each side of a streaming window. Larger than any
/// token the scanner consumes (host 1 KiB, URL 2 KiB) so that a window sees
/// every token that starts in its accepted range exactly as the whole input
/// would.
const OVERLAP: usize = 4 * (MAX_URL + MAX_HOST_RAW);

impl Extractor {
    /// An extractor for every kind, without a warninglist.
    pub fn new() -> Self {
        Extractor {
            kinds: [true; ObservableKind::ALL.len()],
            warninglist: None,
            chunk_size: 4 << 20,
            threads: 1,
            all_spans: true,
            explicit_hosts: false,
        }
    }

    /// Keep only these kinds (the scan itself is the same single pass).
    pub fn kinds(mut self, kinds: &[ObservableKind]) -> Self {
        self.kinds = [false; ObservableKind::ALL.len()];
        for k in kinds {
            self.kinds[k.index()] = true;
        }
        self
    }

    /// Remove values on this warninglist and count them.
    pub fn warninglist(mut self, warninglist: Warninglist) -> Self {
        self.warninglist = Some(warninglist);
        self
    }

    /// Keep every span of every value (the default), or only the first one:
    /// without spans, memory grows with the number of unique values only, not
    /// with the number of occurrences.
    pub fn all_spans(mut self, on: bool) -> Self {
        self.all_spans = on;
        self
    }

    /// Scan with up to this many threads (default 1). Large inputs are split
    /// into ranges scanned in parallel with the same overlap as streaming
    /// windows; the result is identical for any thread count.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// Bytes read per streaming step in [`Extractor::extract_reader`]
    /// (default 4 MiB; values below 4 KiB are raised to 4 KiB, since every
    /// step also rescans a fixed overlap).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(4096);
        self
    }

    /// Treat every dotted token as a host an analyst named: the prose
    /// heuristics for file names and code are off (used for manual entry).
    pub(crate) fn explicit_hosts(mut self, on: bool) -> Self {
        self.explicit_hosts = on;
        self
    }

    /// Extract from a byte slice.
    pub fn extract(&self, bytes: &[u8]) -> Extraction {
        let mut c = Collector::new(self.all_spans);
        self.scan_range(bytes, 0, 0, usize::MAX, &mut Vec::new(), &mut c);
        self.finish(c)
    }

    /// Scan `buf`, which holds stream bytes `[base, base + buf.len())`, and
    /// collect the matches that start in `[lo, hi)` (stream offsets; `hi` may
    /// be `usize::MAX`, meaning the end of the stream is in `buf`). With more
    /// than one thread the range is split into pieces, each scanned with
    /// `OVERLAP` bytes of context on both sides.
    fn scan_range(
        &self,
        buf: &[u8],
        base: usize,
        lo: usize,
        hi: usize,
        scratch: &mut Vec<Matches>,
        c: &mut Collector,
    ) {
        const MIN_PIECE: usize = 1 << 20;
        let end = base + buf.len();
        let span = hi.min(end).saturating_sub(lo);
        let pieces = self.threads.min(span / MIN_PIECE).max(1);
        scratch.resize_with(pieces, Matches::default);
        if pieces == 1 {
            let m = std::mem::take(&mut scratch[0]);
            scratch[0] = Scanner::reusing(buf, base > 0, self.explicit_hosts, m).run();
            c.add(&scratch[0], base, lo, hi);
            return;
        }
        let step = span.div_ceil(pieces);
        let bounds: Vec<(usize, usize)> = (0..pieces)
            .map(|k| {
                let a = lo + k * step;
                let b = if k + 1 == pieces { hi } else { a + step };
                (a, b)
            })
            .collect();
        let explicit = self.explicit_hosts;
        std::thread::scope(|scope| {
            let handles: Vec<_> = bounds
                .iter()
                .zip(scratch.iter_mut())
                .map(|(&(a, b), slot)| {
                    let from = a.saturating_sub(OVERLAP).max(base);
                    let to = b.saturating_add(OVERLAP).min(end);
                    let window = &buf[from - base..to - base];
                    let m = std::mem::take(slot);
                    scope.spawn(move || {
                        (from, Scanner::reusing(window, from > 0, explicit, m).run())
                    })
                })
                .collect();
            for (h, (slot, &(a, b))) in handles.into_iter().zip(scratch.iter_mut().zip(&bounds)) {
                // A scanner thread cannot panic on any input; if one ever did,
                // re-raise it here rather than lose its matches silently.
                let (from, m) = match h.join() {
                    Ok(r) => r,
                    Err(p) => std::panic::resume_unwind(p),
                };
                c.add(&m, from, a, b);
                *slot = m;
            }
        });
    }

    /// Extract from a reader, holding at most `chunk_size` plus a fixed overlap
    /// (12 KiB on each side) in memory besides the unique results.
    pub fn extract_reader<R: Read>(&self, mut reader: R) -> io::Result<Extraction> {
        let mut c = Collector::new(self.all_spans);
        // buf holds stream bytes [base, base + buf.len()).
        let mut buf: Vec<u8> = Vec::with_capacity(self.chunk_size + 2 * OVERLAP);
        let mut base = 0usize;
        // Matches starting before `accepted` were emitted by an earlier window.
        let mut accepted = 0usize;
        let mut eof = false;
        let mut scratch = Vec::new();
        while !eof {
            let want = (accepted - base) + self.chunk_size + OVERLAP;
            if buf.len() < want {
                // `read_to_end` fills spare capacity without zeroing it first;
                // `take` bounds it, and a short count means end of input
                // (it retries interrupted reads itself).
                let need = (want - buf.len()) as u64;
                let got = reader.by_ref().take(need).read_to_end(&mut buf)?;
                if (got as u64) < need {
                    eof = true;
                }
            }
            let hi = if eof {
                usize::MAX
            } else {
                base + buf.len() - OVERLAP
            };
            self.scan_range(&buf, base, accepted, hi, &mut scratch, &mut c);
            if eof {
                break;
            }
            accepted = hi;
            // Keep OVERLAP bytes of left context before the next accepted range.
            let keep_from = accepted.saturating_sub(OVERLAP).max(base);
            buf.drain(..keep_from - base);
            base = keep_from;
        }
        Ok(self.finish(c))
    }

    fn finish(&self, c: Collector) -> Extraction {
        let mut suppressed = 0;
        let observables = c
            .items
            .into_iter()
            .filter(|o| self.kinds[o.kind.index()])
            .filter(|o| match &self.warninglist {
                Some(wl) if wl.matches(o.kind, &o.value) => {
                    suppressed += 1;
                    false
                }
                _ => true,
            })
            .collect();
        Extraction {
            observables,
            suppressed,
        }
    }
}

/// Deduplicates raw matches by (kind, value), keeping first-appearance order.
/// The table stores indexes into `items`, so a value is allocated once, when it
/// is first seen. The hasher is seeded per process (foldhash), so input cannot
/// be crafted to collide.
struct Collector {
    all_spans: bool,
    items: Vec<Extracted>,
    /// (hash, index into `items`): the stored hash makes growth cheap.
    table: HashTable<(u64, usize)>,
    hasher: foldhash::fast::RandomState,
}

impl Collector {
    fn new(all_spans: bool) -> Self {
        Collector {
            all_spans,
            items: Vec::new(),
            table: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// Add the matches of one window whose byte 0 is stream offset `base`,
    /// keeping those that start in `[lo, hi)` (stream offsets).
    fn add(&mut self, matches: &Matches, base: usize, lo: usize, hi: usize) {
        for m in &matches.list {
            let start = base + m.start;
            if start < lo || start >= hi {
                continue;
            }
            let span = Span {
                start,
                end: base + m.end,
            };
            let value = matches.value(m);
            let hash = self.hasher.hash_one((m.kind, value));
            let items = &mut self.items;
            match self.table.find(hash, |&(h, i)| {
                h == hash && items[i].kind == m.kind && items[i].value == value
            }) {
                Some(&(_, i)) => {
                    if self.all_spans {
                        items[i].spans.push(span);
                    }
                }
                None => {
                    items.push(Extracted {
                        kind: m.kind,
                        value: value.to_owned(),
                        spans: vec![span],
                    });
                    let idx = items.len() - 1;
                    self.table.insert_unique(hash, (hash, idx), |&(h, _)| h);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
