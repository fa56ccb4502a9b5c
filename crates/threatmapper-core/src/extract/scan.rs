//! The single-pass scanner.
//!
//! The hot loop classifies eight bytes per step through a 256-entry table and
//! stops only at the few bytes that can anchor an observable (`.`, `:`, `@`, an
//! opening bracket, `\`); the words `CVE` and ` dot ` are found beforehand by
//! vectorised substring search and merged in. At an anchor the scanner walks back to the start of the surrounding
//! token, parses the whole token forward once (labels, defanged separators,
//! scheme, e-mail sign, port, path) and resumes after it, so each byte is looked
//! at a bounded number of times and nothing backtracks. Hashes are found by a
//! stride scan that reads one byte in sixteen. No regex; canonical values are
//! written into one arena string, so a match allocates nothing.

use std::fmt::Write as _;
use std::net::Ipv6Addr;

use super::host::{HostContext, domain_into, ipv4_from_labels, write_ipv4};
use super::tables::{
    LABEL, LOCAL, TRIGGER, URLC, char_at, char_before, cls, is_alnum, is_hex, is_idn_char,
    is_unicode_dash,
};
use crate::ObservableKind;

/// Longest run of host bytes (labels plus defanged separators) considered.
pub(crate) const MAX_HOST_RAW: usize = 1024;
/// Longest URL kept; a longer one is cut at this many bytes.
pub(crate) const MAX_URL: usize = 2048;
/// How far back a trigger may walk to find the start of its token.
const MAX_WALK: usize = 256;
/// Longest e-mail local part (RFC 5321).
const MAX_LOCAL: usize = 64;

/// One occurrence of an observable, before deduplication; its canonical value
/// is `arena[value.0..value.1]` of the scan's [`Matches`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawMatch {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) kind: ObservableKind,
    pub(crate) value: (usize, usize),
}

/// Everything one scan found, sorted by (start, kind).
#[derive(Debug, Default)]
pub(crate) struct Matches {
    pub(crate) list: Vec<RawMatch>,
    pub(crate) arena: String,
}

impl Matches {
    pub(crate) fn value(&self, m: &RawMatch) -> &str {
        &self.arena[m.value.0..m.value.1]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inner {
    Dot,
    At,
    Colon,
    SchemeSep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    Plain,
    Defang,
    Spaced,
}

/// A parsed run of labels joined by (possibly defanged) dots. Label ranges are
/// in `Scanner::labels`.
#[derive(Debug, Clone, Copy)]
struct Dotted {
    start: usize,
    end: usize,
    count: usize,
    defanged: bool,
    spaced: bool,
    /// More than `MAX_LABELS` labels or `MAX_HOST_RAW` bytes: never a host,
    /// and only the first `MAX_LABELS` label ranges were recorded.
    oversized: bool,
}

/// Most labels recorded for one dotted token (a host has at most 127).
const MAX_LABELS: usize = 128;

/// Scans one buffer. `explicit_hosts` treats every dotted token as a host an
/// analyst named (used to canonicalise manually entered observables).
pub(crate) struct Scanner<'a> {
    b: &'a [u8],
    /// The buffer starts inside a stream (a window), so a token touching byte
    /// 0 may have begun earlier and is not judged.
    open_start: bool,
    explicit_hosts: bool,
    labels: Vec<(usize, usize)>,
    /// Scratch for a host's canonical value.
    host: String,
    out: Matches,
}

impl<'a> Scanner<'a> {
    /// A scanner that writes into `out` (cleared first), so that a streaming
    /// caller reuses one allocation across windows.
    pub(crate) fn reusing(
        b: &'a [u8],
        open_start: bool,
        explicit_hosts: bool,
        mut out: Matches,
    ) -> Self {
        out.list.clear();
        out.arena.clear();
        Scanner {
            b,
            open_start,
            explicit_hosts,
            labels: Vec::with_capacity(16),
            host: String::with_capacity(64),
            out,
        }
    }

    /// Run both passes; the matches come back sorted by (start, kind).
    pub(crate) fn run(mut self) -> Matches {
        self.main_pass();
        let before = self.out.list.len();
        self.hash_pass();
        if self.out.list.len() != before || !self.out.list.is_sorted_by_key(|m| (m.start, m.kind)) {
            self.out.list.sort_by_key(|m| (m.start, m.kind));
        }
        self.out
    }

    #[inline(always)]
    fn get(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    fn prev(&self, i: usize) -> u8 {
        if i == 0 { 0 } else { self.b[i - 1] }
    }

    /// Record a match whose value was just appended to the arena at `from`.
    fn commit(&mut self, start: usize, end: usize, kind: ObservableKind, from: usize) {
        let to = self.out.arena.len();
        self.out.list.push(RawMatch {
            start,
            end,
            kind,
            value: (from, to),
        });
    }

    /// Record a match whose value is the current host scratch.
    fn emit_host(&mut self, start: usize, end: usize, kind: ObservableKind) {
        let from = self.out.arena.len();
        self.out.arena.push_str(&self.host);
        self.commit(start, end, kind, from);
    }

    // ----- character helpers -------------------------------------------------

    /// Width of the host-label character at `i`, 0 if there is none.
    #[inline]
    fn label_w(&self, i: usize) -> usize {
        let c = self.get(i);
        if c < 0x80 {
            usize::from(cls(c) & LABEL != 0)
        } else {
            match char_at(self.b, i) {
                Some((ch, w)) if is_idn_char(ch) => w,
                _ => 0,
            }
        }
    }

    /// Width of the host-label character ending just before `i`, 0 if none.
    #[inline]
    fn label_w_back(&self, i: usize) -> usize {
        if i == 0 {
            return 0;
        }
        let c = self.b[i - 1];
        if c < 0x80 {
            usize::from(cls(c) & LABEL != 0)
        } else {
            match char_before(self.b, i) {
                Some((ch, w)) if is_idn_char(ch) => w,
                _ => 0,
            }
        }
    }

    /// A letter or digit (ASCII or an IDN letter) ends just before `i`.
    fn alnum_before(&self, i: usize) -> bool {
        if i == 0 {
            return false;
        }
        let c = self.b[i - 1];
        if c < 0x80 {
            is_alnum(c)
        } else {
            matches!(char_before(self.b, i), Some((ch, _)) if is_idn_char(ch))
        }
    }

    /// A bracketed defang such as `[.]`, `(dot)`, `{at}`, `[@]`, `[:]`, `[://]`.
    fn bracket(&self, i: usize) -> Option<(usize, Inner)> {
        let close = match self.get(i) {
            b'[' => b']',
            b'(' => b')',
            b'{' => b'}',
            _ => return None,
        };
        for len in 1..=3 {
            if self.get(i + 1 + len) == close {
                let inner = &self.b[i + 1..i + 1 + len];
                let kind = if inner == b"." || inner.eq_ignore_ascii_case(b"dot") {
                    Inner::Dot
                } else if inner == b"@" || inner.eq_ignore_ascii_case(b"at") {
                    Inner::At
                } else if inner == b":" {
                    Inner::Colon
                } else if inner == b"://" {
                    Inner::SchemeSep
                } else {
                    return None;
                };
                return Some((len + 2, kind));
            }
        }
        None
    }

    /// A bracket of the given kind at `i`, optionally surrounded by one space on
    /// each side. Returns the full length.
    fn spaced_bracket(&self, i: usize, want: Inner) -> Option<usize> {
        let lead = usize::from(self.get(i) == b' ');
        let (len, kind) = self.bracket(i + lead)?;
        if kind != want {
            return None;
        }
        let trail = usize::from(self.get(i + lead + len) == b' ');
        Some(lead + len + trail)
    }

    /// A dot separator at `i`: `.`, `\.`, a bracket defang, or a spaced ` dot `.
    fn dot_sep(&self, i: usize) -> Option<(usize, Sep)> {
        match self.get(i) {
            b'.' => Some((1, Sep::Plain)),
            b'\\' if self.get(i + 1) == b'.' => Some((2, Sep::Defang)),
            b'[' | b'(' | b'{' => self.spaced_bracket(i, Inner::Dot).map(|l| (l, Sep::Defang)),
            b' ' => {
                let n = self.get(i + 1);
                if matches!(n, b'[' | b'(' | b'{') {
                    self.spaced_bracket(i, Inner::Dot).map(|l| (l, Sep::Defang))
                } else if self.get(i + 4) == b' '
                    && (&self.b[i + 1..(i + 4).min(self.b.len())] == b"dot"
                        || &self.b[i + 1..(i + 4).min(self.b.len())] == b"DOT")
                {
                    Some((5, Sep::Spaced))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// An at-sign at `i`: `@`, or `[at]`, `(at)`, `{at}`, `[@]` with optional
    /// surrounding spaces.
    fn at_sign(&self, i: usize) -> Option<usize> {
        match self.get(i) {
            b'@' => Some(1),
            b'[' | b'(' | b'{' | b' ' => self.spaced_bracket(i, Inner::At),
            _ => None,
        }
    }

    /// A scheme separator at `i`: `://`, `[:]//`, `(:)//`, `[://]`.
    fn scheme_sep(&self, i: usize) -> Option<usize> {
        if self.get(i) == b':' && self.get(i + 1) == b'/' && self.get(i + 2) == b'/' {
            return Some(3);
        }
        match self.bracket(i) {
            Some((3, Inner::Colon)) if self.get(i + 3) == b'/' && self.get(i + 4) == b'/' => {
                Some(5)
            }
            Some((5, Inner::SchemeSep)) => Some(5),
            _ => None,
        }
    }

    // ----- the main pass -----------------------------------------------------

    fn main_pass(&mut self) {
        let b = self.b;
        let words = word_anchors(b);
        let mut w = 0usize;
        let mut i = 0usize;
        let mut floor = 0usize;
        loop {
            while w < words.len() && words[w] < i {
                w += 1;
            }
            let word = words.get(w).copied();
            let at = match (next_trigger(b, i, word.unwrap_or(b.len())), word) {
                (Some(t), _) => t,
                (None, Some(x)) => x,
                (None, None) => break,
            };
            i = at;
            let next = match b[i] {
                b'.' => {
                    if i > floor && self.label_w_back(i) > 0 && self.label_w(i + 1) > 0 {
                        Some(self.compound(i, floor))
                    } else {
                        None
                    }
                }
                b'\\' => {
                    if self.get(i + 1) == b'.'
                        && i > floor
                        && self.label_w_back(i) > 0
                        && self.label_w(i + 2) > 0
                    {
                        Some(self.compound(i, floor))
                    } else {
                        None
                    }
                }
                b'[' | b'(' | b'{' => self.bracket_trigger(i, floor),
                b'@' => {
                    if i > floor && cls(self.prev(i)) & LOCAL != 0 && self.label_w(i + 1) > 0 {
                        Some(self.compound(i, floor))
                    } else {
                        None
                    }
                }
                b':' => self.colon(i, floor),
                b'v' | b'V' => self.cve(i),
                _ => {
                    // `d`/`D`: a spaced ` dot ` between two labels.
                    if i >= 2
                        && self.b[i - 1] == b' '
                        && i - 1 > floor
                        && self.dot_sep(i - 1).is_some_and(|(_, s)| s == Sep::Spaced)
                        && self.label_w_back(i - 1) > 0
                        && self.label_w(i + 4) > 0
                    {
                        Some(self.compound(i - 1, floor))
                    } else {
                        None
                    }
                }
            };
            match next {
                Some(end) if end > i => {
                    floor = end;
                    i = end;
                }
                _ => i += 1,
            }
        }
    }

    fn bracket_trigger(&mut self, i: usize, floor: usize) -> Option<usize> {
        let (len, kind) = self.bracket(i)?;
        let anchor = if self.prev(i) == b' ' && i > 0 {
            i - 1
        } else {
            i
        };
        if anchor <= floor {
            return None;
        }
        let before = match kind {
            Inner::At => cls(self.prev(anchor)) & LOCAL != 0,
            _ => self.label_w_back(anchor) > 0,
        };
        if !before {
            return None;
        }
        let after = i + len + usize::from(self.get(i + len) == b' ');
        let ok_after = match kind {
            Inner::Dot | Inner::At => self.label_w(after) > 0,
            Inner::Colon => self.get(i + len) == b'/',
            Inner::SchemeSep => self.label_w(i + len) > 0 || self.get(i + len) == b'[',
        };
        if !ok_after {
            return None;
        }
        Some(self.compound(anchor, floor))
    }

    /// Walk back from an anchor to the start of its token and parse the token.
    /// Returns where scanning resumes.
    fn compound(&mut self, anchor: usize, floor: usize) -> usize {
        let lim = anchor.saturating_sub(MAX_WALK).max(floor);
        let mut s = anchor;
        while s > lim {
            let w = self.label_w_back(s);
            if w == 0 || s - w < lim {
                break;
            }
            s -= w;
        }
        // The walk stopped inside a run of label characters: the token began
        // earlier than we may look.
        let hit_limit = s == lim && lim > floor && self.label_w_back(s) > 0;
        while s < anchor && matches!(self.b[s], b'-' | b'_') {
            s += 1;
        }
        // A token whose start is not a real boundary (the walk limit, the end
        // of the previous token inside a run, a dot separator after a label, or
        // the start of a window) is skipped whole, never judged from the middle.
        let cut = hit_limit
            || self.alnum_before(s)
            || (s == 0 && self.open_start)
            || self.continues_dotted_run(s);
        self.parse_compound(s, floor, cut)
    }

    /// A dot separator ends at `s` and a label ends before it: `s` is in the
    /// middle of a dotted run.
    fn continues_dotted_run(&self, s: usize) -> bool {
        (s.saturating_sub(7)..s).any(|q| {
            matches!(self.dot_sep(q), Some((l, _)) if q + l == s) && self.label_w_back(q) > 0
        })
    }

    fn parse_compound(&mut self, start: usize, floor: usize, cut: bool) -> usize {
        let d = self.parse_dotted(start);
        if d.count == 0 {
            // An at-sign right after local-part punctuation (`0+@evil.com`).
            if let Some(al) = self.at_sign(start)
                && let Some(end) = self.email(start, al, floor)
            {
                return end;
            }
            // Nothing consumed: the caller moves on without a new floor.
            return start;
        }
        // URL: a single label that is a scheme, then a scheme separator.
        if !cut
            && d.count == 1
            && let Some(sl) = self.scheme_sep(d.end)
            && let Some(scheme) = scheme_name(&self.b[self.labels[0].0..self.labels[0].1])
            && let Some(end) = self.url(start, scheme, d.end + sl)
        {
            return end;
        }
        // E-mail: a local part (which may go on past the dotted run, as in
        // `john.doe+tag@`), an at-sign, a domain. The local part's own walk
        // back decides its start, so this runs even for a cut token.
        let mut at = d.end;
        while at < d.end + MAX_LOCAL && cls(self.get(at)) & LOCAL != 0 {
            at += 1;
        }
        let mut labels_intact = true;
        if let Some(al) = self.at_sign(at) {
            if let Some(end) = self.email(at, al, floor) {
                return end;
            }
            labels_intact = false;
        }
        if !cut {
            // `email` parsed the domain's labels over ours: parse again.
            let d = if labels_intact {
                d
            } else {
                self.parse_dotted(start)
            };
            self.host_token(d);
        }
        d.end
    }

    /// Parse labels joined by dot separators, starting at `start`. The whole
    /// run is consumed however long it is (so its end does not depend on where
    /// parsing began); only the first `MAX_LABELS` label ranges are recorded.
    fn parse_dotted(&mut self, start: usize) -> Dotted {
        self.labels.clear();
        let n = self.b.len();
        let mut p = start;
        let mut defanged = false;
        let mut spaced = false;
        let mut count = 0usize;
        let mut all_numeric = true;
        let mut last = (start, start);
        let mut prev_end = start;
        loop {
            let ls = p;
            // In an IPv4-shaped run, `-` after the fourth octet starts a range.
            let numeric_run = count >= 3 && all_numeric;
            let mut digits_only = true;
            while p < n {
                let w = self.label_w(p);
                if w == 0 {
                    break;
                }
                let c = self.b[p];
                if numeric_run && c == b'-' && p > ls && digits_only {
                    break;
                }
                digits_only &= c.is_ascii_digit();
                p += w;
            }
            if p == ls {
                break;
            }
            if count < MAX_LABELS {
                self.labels.push((ls, p));
            }
            count += 1;
            all_numeric &= digits_only;
            prev_end = last.1;
            last = (ls, p);
            match self.dot_sep(p) {
                Some((l, kind)) if self.label_w(p + l) > 0 => {
                    match kind {
                        Sep::Plain => {}
                        Sep::Defang => defanged = true,
                        Sep::Spaced => spaced = true,
                    }
                    p += l;
                }
                _ => break,
            }
        }
        // Trailing `-`/`_` are separators, not part of the last label.
        let mut end = last.1;
        while end > last.0 && matches!(self.b[end - 1], b'-' | b'_') {
            end -= 1;
        }
        if count > 0 && end == last.0 {
            if self.labels.len() == count {
                self.labels.pop();
            }
            count -= 1;
            end = if count == 0 { start } else { prev_end };
        } else if count > 0
            && self.labels.len() == count
            && let Some(l) = self.labels.last_mut()
        {
            l.1 = end;
        }
        Dotted {
            start,
            end,
            count,
            defanged,
            spaced,
            oversized: count > MAX_LABELS || end - start > MAX_HOST_RAW,
        }
    }

    /// Judge a dotted token (whose labels are in `self.labels`) and emit it.
    fn host_token(&mut self, d: Dotted) {
        if let Some(kind) = self.judge_host(d, false) {
            self.emit_host(d.start, d.end, kind);
        }
    }

    /// Judge the dotted token whose labels are in `self.labels`; on success the
    /// canonical value is in `self.host`.
    fn judge_host(&mut self, d: Dotted, explicit: bool) -> Option<ObservableKind> {
        if d.count < 2 || d.oversized {
            return None;
        }
        let labels = &self.labels[..d.count];
        if d.count == 4
            && let Some(o) = ipv4_from_labels(labels.iter().map(|&(s, e)| &self.b[s..e]))
        {
            write_ipv4(o, &mut self.host);
            return Some(ObservableKind::Ipv4);
        }
        if labels
            .iter()
            .all(|&(s, e)| self.b[s..e].iter().all(u8::is_ascii_digit))
        {
            return None;
        }
        let ctx = HostContext {
            explicit: explicit || self.explicit_hosts,
            defanged: d.defanged,
            spaced: d.spaced,
            prev: self.prev(d.start),
            prev2: if d.start >= 2 { self.b[d.start - 2] } else { 0 },
            next: self.get(d.end),
        };
        domain_into(self.b, labels, ctx, &mut self.host).then_some(ObservableKind::Domain)
    }

    // ----- URLs --------------------------------------------------------------

    /// Parse a URL whose scheme starts at `start` and whose host starts at
    /// `host_start`. Emits the URL and its host; returns where scanning resumes
    /// (after the authority, so the path is scanned for more observables).
    fn url(&mut self, start: usize, scheme: &'static str, host_start: usize) -> Option<usize> {
        let (host_kind, host_end) = if self.get(host_start) == b'[' {
            let close = (host_start + 1..(host_start + 48).min(self.b.len()))
                .find(|&j| self.b[j] == b']')?;
            let text = std::str::from_utf8(&self.b[host_start + 1..close]).ok()?;
            let addr: Ipv6Addr = text.parse().ok()?;
            self.host.clear();
            let _ = write!(self.host, "{addr}");
            (ObservableKind::Ipv6, close + 1)
        } else {
            let d = self.parse_dotted(host_start);
            (self.judge_host(d, true)?, d.end)
        };
        let mut p = host_end;
        let mut port = "";
        if self.get(p) == b':' {
            let ds = p + 1;
            let mut de = ds;
            while de < ds + 6 && self.get(de).is_ascii_digit() {
                de += 1;
            }
            let digits = std::str::from_utf8(&self.b[ds..de]).unwrap_or("");
            if !digits.is_empty() && digits.parse::<u16>().is_ok() && !is_alnum(self.get(de)) {
                port = digits;
                p = de;
            }
        }
        let authority_end = p;
        let lim = (start + MAX_URL).min(self.b.len());
        if matches!(self.get(p), b'/' | b'?' | b'#') {
            while p < lim && cls(self.b[p]) & URLC != 0 {
                p += 1;
            }
        }
        let path_start = authority_end;
        let mut end = p;
        // Trailing punctuation belongs to the sentence; closers only when
        // unbalanced. Counts are taken once and updated as bytes are dropped.
        let path = &self.b[path_start..end];
        let (mut open_p, mut close_p) = (count(path, b'('), count(path, b')'));
        let (mut open_b, mut close_b) = (count(path, b'['), count(path, b']'));
        while end > path_start {
            let drop = match self.b[end - 1] {
                b'.' | b',' | b';' | b':' | b'!' | b'?' | b'*' => true,
                b')' if open_p < close_p => {
                    close_p -= 1;
                    true
                }
                b']' if open_b < close_b => {
                    close_b -= 1;
                    true
                }
                _ => false,
            };
            if !drop {
                break;
            }
            match self.b[end - 1] {
                b'(' => open_p -= 1,
                b'[' => open_b -= 1,
                _ => {}
            }
            end -= 1;
        }
        let from = self.out.arena.len();
        let value = &mut self.out.arena;
        value.push_str(scheme);
        value.push_str("://");
        if host_kind == ObservableKind::Ipv6 {
            value.push('[');
            value.push_str(&self.host);
            value.push(']');
        } else {
            value.push_str(&self.host);
        }
        if !port.is_empty() {
            value.push(':');
            value.push_str(port);
        }
        push_refanged_path(value, &self.b[path_start..end]);
        self.commit(start, end, ObservableKind::Url, from);
        let host_span_end = if host_kind == ObservableKind::Ipv6 {
            host_end - 1
        } else {
            host_end
        };
        let host_span_start = if host_kind == ObservableKind::Ipv6 {
            host_start + 1
        } else {
            host_start
        };
        self.emit_host(host_span_start, host_span_end, host_kind);
        Some(authority_end)
    }

    // ----- e-mail --------------------------------------------------------------

    /// An e-mail whose at-sign starts at `at` and is `al` bytes long.
    fn email(&mut self, at: usize, al: usize, floor: usize) -> Option<usize> {
        let lim = at.saturating_sub(MAX_LOCAL).max(floor);
        let mut ls = at;
        while ls > lim && cls(self.b[ls - 1]) & LOCAL != 0 {
            ls -= 1;
        }
        if self.alnum_before(ls) || (ls == 0 && self.open_start) {
            return None;
        }
        while ls < at && self.b[ls] == b'.' {
            ls += 1;
        }
        let local = &self.b[ls..at];
        if local.is_empty()
            || local.ends_with(b".")
            || local.windows(2).any(|w| w == b"..")
            || !local.iter().any(|&c| is_alnum(c))
        {
            return None;
        }
        let d = self.parse_dotted(at + al);
        if self.judge_host(d, true)? != ObservableKind::Domain {
            return None;
        }
        let from = self.out.arena.len();
        let value = &mut self.out.arena;
        // The local part is LOCAL bytes only: ASCII.
        value.push_str(std::str::from_utf8(&self.b[ls..at]).unwrap_or(""));
        value[from..].make_ascii_lowercase();
        value.push('@');
        value.push_str(&self.host);
        self.commit(ls, d.end, ObservableKind::Email, from);
        self.emit_host(d.start, d.end, ObservableKind::Domain);
        Some(d.end)
    }

    // ----- colon: scheme or IPv6 ---------------------------------------------

    fn colon(&mut self, i: usize, floor: usize) -> Option<usize> {
        if self.get(i + 1) == b'/' && self.get(i + 2) == b'/' {
            if i > floor && self.label_w_back(i) > 0 {
                let end = self.compound(i, floor);
                if end > i {
                    return Some(end);
                }
            }
            return None;
        }
        self.ipv6(i, floor)
    }

    fn ipv6(&mut self, i: usize, floor: usize) -> Option<usize> {
        let lim = i.saturating_sub(40).max(floor);
        let mut s = i;
        while s > lim && (is_hex(self.b[s - 1]) || self.b[s - 1] == b':') {
            s -= 1;
        }
        if s > 0 && (is_alnum(self.b[s - 1]) || self.b[s - 1] == b':') {
            return None;
        }
        let flim = (s + 45).min(self.b.len());
        let mut e = i;
        while e < flim && (is_hex(self.b[e]) || self.b[e] == b':' || self.b[e] == b'.') {
            e += 1;
        }
        // Sentence punctuation after the address.
        while e > i + 1
            && (self.b[e - 1] == b'.' || (self.b[e - 1] == b':' && self.b[e - 2] != b':'))
        {
            e -= 1;
        }
        if is_alnum(self.get(e)) || self.get(e) == b':' {
            return None;
        }
        let text = std::str::from_utf8(&self.b[s..e]).ok()?;
        let colons = text.bytes().filter(|&c| c == b':').count();
        if !(text.contains("::") || colons == 7) {
            return None;
        }
        let addr: Ipv6Addr = text.parse().ok()?;
        let from = self.out.arena.len();
        let _ = write!(self.out.arena, "{addr}");
        // At least two groups in the canonical form (`1::0` is `1::`, one group),
        // so that the value read back is the value again.
        if self.out.arena[from..]
            .split(':')
            .filter(|g| !g.is_empty())
            .count()
            < 2
        {
            self.out.arena.truncate(from);
            return None;
        }
        self.commit(s, e, ObservableKind::Ipv6, from);
        Some(e)
    }

    // ----- CVE -------------------------------------------------------------------

    fn cve(&mut self, i: usize) -> Option<usize> {
        if i == 0
            || !matches!(self.b[i - 1], b'c' | b'C')
            || !matches!(self.get(i + 1), b'e' | b'E')
        {
            return None;
        }
        let start = i - 1;
        if start > 0 && is_alnum(self.b[start - 1]) {
            return None;
        }
        let p = i + 2;
        let p = p + self.cve_sep(p, true)?;
        let year = self.digits(p, 4)?;
        if year.len() != 4 {
            return None;
        }
        let p = p + 4;
        let p = p + self.cve_sep(p, false)?;
        let seq = self.digits(p, 12)?;
        if seq.len() < 4 || (seq.len() > 4 && seq.starts_with('0')) {
            return None;
        }
        let end = p + seq.len();
        if is_alnum(self.get(end)) {
            return None;
        }
        // Inside an e-mail local part (`x_cve-2021-1234@evil.com`) the e-mail
        // is the token, not the CVE id.
        let mut q = end;
        while q < end + MAX_LOCAL && cls(self.get(q)) & LOCAL != 0 {
            q += 1;
        }
        if self.at_sign(q).is_some() {
            return None;
        }
        let y: u32 = year.parse().ok()?;
        if !(1999..=2099).contains(&y) {
            return None;
        }
        let from = self.out.arena.len();
        let _ = write!(self.out.arena, "CVE-{year}-{seq}");
        self.commit(start, end, ObservableKind::Cve, from);
        Some(end)
    }

    fn cve_sep(&self, p: usize, allow_space: bool) -> Option<usize> {
        match self.get(p) {
            b'-' => Some(1),
            b' ' if allow_space => Some(1),
            c if c >= 0x80 => match char_at(self.b, p) {
                Some((ch, w)) if is_unicode_dash(ch) => Some(w),
                _ => None,
            },
            _ => None,
        }
    }

    /// The run of ASCII digits at `p` (at most `max + 1` are read so callers can
    /// tell an over-long run).
    fn digits(&self, p: usize, max: usize) -> Option<&'a str> {
        let b: &'a [u8] = self.b;
        let mut e = p;
        while e < b.len() && e <= p + max && b[e].is_ascii_digit() {
            e += 1;
        }
        if e == p || e - p > max {
            return None;
        }
        std::str::from_utf8(&b[p..e]).ok()
    }

    // ----- hashes ------------------------------------------------------------------

    /// A hex run of exactly 32, 40 or 64 characters bounded by non-alphanumerics
    /// is an MD5, SHA-1 or SHA-256. Any run of 32 or more bytes fully covers an
    /// aligned 16-byte block, so only blocks whose first and last bytes are hex
    /// are looked at further.
    fn hash_pass(&mut self) {
        let b = self.b;
        let n = b.len();
        let mut k = 0usize;
        while k + 16 <= n {
            if !(is_hex(b[k]) && is_hex(b[k + 15]) && b[k..k + 16].iter().all(|&c| is_hex(c))) {
                k += 16;
                continue;
            }
            let mut s = k;
            while s > 0 && is_alnum(b[s - 1]) {
                s -= 1;
            }
            let mut e = k + 16;
            while e < n && is_alnum(b[e]) {
                e += 1;
            }
            let run = &b[s..e];
            let kind = match run.len() {
                32 => Some(ObservableKind::Md5),
                40 => Some(ObservableKind::Sha1),
                64 => Some(ObservableKind::Sha256),
                _ => None,
            };
            if let Some(kind) = kind
                && run.iter().all(|&c| is_hex(c))
                && !run.iter().all(u8::is_ascii_digit)
            {
                let from = self.out.arena.len();
                // A hex run is ASCII.
                self.out
                    .arena
                    .push_str(std::str::from_utf8(run).unwrap_or(""));
                self.out.arena[from..].make_ascii_lowercase();
                self.commit(s, e, kind, from);
            }
            k = (e + 15) & !15;
        }
    }
}

/// The first anchor byte at or after `i` and before `limit`. Eight bytes are
/// classified per step with one branch.
#[inline(always)]
fn next_trigger(b: &[u8], mut i: usize, limit: usize) -> Option<usize> {
    let b = &b[..limit.min(b.len())];
    while let Some(w) = b.get(i..i + 8) {
        let t = cls(w[0])
            | cls(w[1])
            | cls(w[2])
            | cls(w[3])
            | cls(w[4])
            | cls(w[5])
            | cls(w[6])
            | cls(w[7]);
        if t & TRIGGER != 0 {
            break;
        }
        i += 8;
    }
    while i < b.len() {
        if cls(b[i]) & TRIGGER != 0 {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Anchors that are words rather than bytes, found with vectorised substring
/// search: the `V` of `CVE`/`cve`/`Cve` and the `d` of ` dot `/` DOT `. They are
/// rare in prose, so a sorted list is cheap.
/// The searchers are built once per process: building one costs more than
/// searching a short value with it.
fn word_anchors(b: &[u8]) -> Vec<usize> {
    static FINDERS: std::sync::LazyLock<[memchr::memmem::Finder<'static>; 5]> =
        std::sync::LazyLock::new(|| {
            [&b"CVE"[..], b"cve", b"Cve", b" dot ", b" DOT "]
                .map(|n| memchr::memmem::Finder::new(n).into_owned())
        });
    let mut v = Vec::new();
    for finder in FINDERS.iter() {
        v.extend(finder.find_iter(b).map(|p| p + 1));
    }
    v.sort_unstable();
    v
}

fn count(s: &[u8], c: u8) -> usize {
    s.iter().filter(|&&x| x == c).count()
}

/// Map a (possibly defanged) scheme to its canonical name.
fn scheme_name(label: &[u8]) -> Option<&'static str> {
    let mut buf = [0u8; 8];
    if label.len() > buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(label) {
        *d = s.to_ascii_lowercase();
    }
    Some(match &buf[..label.len()] {
        b"http" | b"hxxp" | b"hxtp" | b"htxp" | b"hxp" | b"hzzp" => "http",
        b"https" | b"hxxps" | b"hxtps" | b"htxps" | b"hxps" | b"hzzps" => "https",
        b"ftp" | b"fxp" => "ftp",
        b"ftps" | b"fxps" => "ftps",
        b"sftp" => "sftp",
        b"ws" => "ws",
        b"wss" => "wss",
        _ => return None,
    })
}

/// Append a URL path, replacing bracket dot defangs with `.`.
fn push_refanged_path(out: &mut String, path: &[u8]) {
    // The path is URLC bytes only: ASCII.
    let text = std::str::from_utf8(path).unwrap_or("");
    // `{` ends a URL, so only `[` and `(` defangs can occur in a path.
    if !text.contains(['[', '(']) {
        out.push_str(text);
        return;
    }
    let mut i = 0;
    while i < path.len() {
        let rest = &path[i..];
        let skip = if matches!(rest[0], b'[' | b'(') {
            [&b"[.]"[..], b"(.)", b"[dot]", b"(dot)"]
                .iter()
                .find(|p| rest.len() >= p.len() && rest[..p.len()].eq_ignore_ascii_case(p))
                .map(|p| p.len())
        } else {
            None
        };
        if let Some(l) = skip {
            out.push('.');
            i += l;
        } else {
            out.push(char::from(path[i]));
            i += 1;
        }
    }
}
