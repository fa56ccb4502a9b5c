//! Judging a dotted token: is it an IPv4 address, a real domain, or neither?
//!
//! The rules (documented for analysts in `docs/EXTRACTION.md`):
//! - IPv4: exactly four labels of one to three decimal digits, each 0–255;
//!   zero-padded octets are read as decimal (`010` is 10), never octal.
//! - Domain: at least two labels, each 1–63 bytes after IDNA, no label starts or
//!   ends with `-`, total at most 253 bytes; the suffix must be a known entry of
//!   the embedded Public Suffix List and the name must be longer than an ICANN
//!   suffix (`co.uk` alone is not a domain; `github.io`, a private suffix, is a
//!   host); the registrable label has no `_`; reserved TLDs are refused.
//! - Without an explicit context (a defang, a URL or an e-mail), tokens that look
//!   like file names, path parts, antivirus family names or code are refused.

/// Top-level names reserved by RFC 2606/6761/6762 and ICANN that never name a
/// public host.
fn reserved_tlds(s: &str) -> bool {
    matches!(
        s,
        "local"
            | "internal"
            | "test"
            | "example"
            | "invalid"
            | "localhost"
            | "lan"
            | "home"
            | "corp"
            | "localdomain"
    )
}

/// TLDs that are also common file extensions: `name.ext` with one of these is a
/// file name unless defanged or inside a URL or e-mail address.
fn file_ext_tlds(s: &str) -> bool {
    matches!(
        s,
        "zip"
            | "mov"
            | "py"
            | "sh"
            | "pl"
            | "rs"
            | "md"
            | "ps"
            | "so"
            | "pm"
            | "app"
            | "exe"
            | "cab"
            | "lnk"
            | "sys"
            | "bat"
            | "dll"
            | "bin"
            | "dat"
            | "doc"
            | "pdf"
            | "js"
            | "php"
            | "rar"
            | "ini"
            | "tmp"
            | "log"
            | "txt"
            | "cfg"
            | "jar"
            | "java"
            | "cpp"
            | "asp"
            | "aspx"
            | "jsp"
            | "mp3"
            | "mp4"
            | "png"
            | "jpg"
            | "gif"
            | "ts"
            | "cs"
            | "vb"
            | "rb"
            | "go"
            | "lua"
            | "run"
            | "msi"
            | "iso"
            | "img"
            | "vbs"
            | "ps1"
            | "hta"
            | "one"
            | "xz"
            | "gz"
            | "tar"
            | "csv"
            | "xls"
            | "docx"
            | "xlsx"
            | "pptx"
            | "rtf"
            | "sql"
            | "db"
            | "bak"
    )
}

/// Platform markers used in antivirus family names (`Trojan.Win32.Agent`).
fn av_platforms(s: &str) -> bool {
    matches!(
        s,
        "win32"
            | "win64"
            | "w32"
            | "w64"
            | "msil"
            | "w97m"
            | "x97m"
            | "o97m"
            | "androidos"
            | "osx32"
    )
}

/// Leading words of antivirus verdict names (`Backdoor.Cobalt.Strike`).
fn av_categories(s: &str) -> bool {
    matches!(
        s,
        "trojan"
            | "backdoor"
            | "worm"
            | "virus"
            | "ransom"
            | "ransomware"
            | "exploit"
            | "hacktool"
            | "pua"
            | "pup"
            | "adware"
            | "riskware"
            | "spyware"
            | "downloader"
            | "dropper"
            | "trojandownloader"
            | "trojandropper"
            | "trojanspy"
            | "heur"
            | "generic"
            | "malware"
            | "rootkit"
            | "keylogger"
            | "stealer"
            | "infostealer"
            | "miner"
            | "coinminer"
            | "bds"
            | "tr"
            | "troj"
    )
}

/// Receivers that make `name.member` code rather than a host (`self.app`,
/// `window.top`, `os.system`).
fn code_receivers(s: &str) -> bool {
    matches!(
        s,
        "self"
            | "this"
            | "window"
            | "document"
            | "os"
            | "sys"
            | "req"
            | "res"
            | "request"
            | "response"
            | "obj"
            | "e"
            | "err"
            | "ctx"
            | "config"
            | "args"
            | "kwargs"
            | "console"
            | "math"
            | "json"
            | "process"
            | "module"
            | "exports"
            | "app"
            | "navigator"
            | "location"
            | "event"
            | "http"
            | "client"
            | "server"
            | "string"
            | "system"
            | "object"
            | "array"
            | "np"
            | "pd"
            | "plt"
            | "torch"
            | "tf"
            | "cls"
            | "super"
    )
}

/// Words that, followed by a spaced ` dot `, are prose rather than a defanged host.
fn spaced_dot_stopwords(s: &str) -> bool {
    // Only the first label is checked, so country codes such as `it`, `no` or
    // `in` as a TLD are not affected.
    matches!(
        s,
        "the"
            | "a"
            | "an"
            | "and"
            | "or"
            | "of"
            | "to"
            | "in"
            | "on"
            | "at"
            | "is"
            | "was"
            | "by"
            | "for"
            | "with"
            | "that"
            | "this"
            | "said"
            | "dot"
            | "its"
            | "it"
            | "as"
            | "from"
            | "one"
            | "each"
            | "every"
            | "no"
    )
}

/// Parse an IPv4 address from four label byte strings.
pub(crate) fn ipv4_from_labels<'a>(labels: impl Iterator<Item = &'a [u8]>) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut n = 0;
    for l in labels {
        if n == 4 || l.is_empty() || l.len() > 3 || !l.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = l.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0'));
        out[n] = u8::try_from(v).ok()?;
        n += 1;
    }
    (n == 4).then_some(out)
}

/// Format an IPv4 address canonically into `out` (cleared first).
pub(crate) fn write_ipv4(o: [u8; 4], out: &mut String) {
    out.clear();
    for (i, v) in o.into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if v >= 100 {
            out.push(char::from(b'0' + v / 100));
        }
        if v >= 10 {
            out.push(char::from(b'0' + (v / 10) % 10));
        }
        out.push(char::from(b'0' + v % 10));
    }
}

/// What the scanner knows about the surroundings of a dotted token.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HostContext {
    /// Inside a URL or an e-mail address, or supplied by an analyst as a domain.
    pub(crate) explicit: bool,
    /// At least one separator was a bracket or backslash defang.
    pub(crate) defanged: bool,
    /// At least one separator was a spaced ` dot `.
    pub(crate) spaced: bool,
    /// The byte before the token (0 at the start of input).
    pub(crate) prev: u8,
    /// The byte before `prev`.
    pub(crate) prev2: u8,
    /// The byte after the token (0 at the end of input).
    pub(crate) next: u8,
}

/// Validate and canonicalise a domain whose labels are the byte ranges
/// `labels` of `b` (label text only: separators, defanged or not, are not in
/// the ranges). On success the canonical name is left in `name`.
pub(crate) fn domain_into(
    b: &[u8],
    labels: &[(usize, usize)],
    ctx: HostContext,
    name: &mut String,
) -> bool {
    name.clear();
    let count = labels.len();
    if !(2..=127).contains(&count) {
        return false;
    }
    if labels.iter().all(|&(s, e)| b[s..e].is_ascii()) {
        // Fast path: the scanner only puts ASCII letters, digits, `-` and `_`
        // into a label, so only lengths and the label edges need checking.
        let mut total = count - 1;
        for &(s, e) in labels {
            let l = &b[s..e];
            if l.is_empty()
                || l.len() > 63
                || matches!(l[0], b'-' | b'_')
                || matches!(l[l.len() - 1], b'-' | b'_')
                || !l
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            {
                return false;
            }
            total += l.len();
        }
        if total > 253 {
            return false;
        }
        for (i, &(s, e)) in labels.iter().enumerate() {
            if i > 0 {
                name.push('.');
            }
            // ASCII was checked above, so this never falls back to "".
            name.push_str(std::str::from_utf8(&b[s..e]).unwrap_or(""));
        }
        name.make_ascii_lowercase();
    } else if !idn_into(b, labels, name) {
        return false;
    }
    let count = name.bytes().filter(|&c| c == b'.').count() + 1;
    let tld = name.rfind('.').map_or(name.as_str(), |i| &name[i + 1..]);
    if tld.bytes().all(|c| c.is_ascii_digit()) || tld.contains('_') || reserved_tlds(tld) {
        return false;
    }
    let Some(suffix) = psl::suffix(name.as_bytes()) else {
        return false;
    };
    if !suffix.is_known() {
        return false;
    }
    let suffix_len = suffix.as_bytes().len();
    let icann = matches!(suffix.typ(), Some(psl::Type::Icann));
    if suffix_len >= name.len() {
        if icann {
            return false; // a bare public suffix such as `co.uk` or `com`
        }
    } else {
        // The registrable label: the one just left of the suffix.
        let head = &name[..name.len() - suffix_len - 1];
        let reg = head.rsplit('.').next().unwrap_or(head);
        if reg.contains('_') {
            return false;
        }
    }
    ctx.explicit || ctx.defanged || plausible_in_prose(name, count, b, labels, ctx)
}

/// The slow path of [`domain_into`] for labels with non-ASCII letters: UTS #46
/// IDNA, then the same label checks on the ASCII result.
fn idn_into(b: &[u8], labels: &[(usize, usize)], name: &mut String) -> bool {
    for (i, &(s, e)) in labels.iter().enumerate() {
        if i > 0 {
            name.push('.');
        }
        match std::str::from_utf8(&b[s..e]) {
            Ok(t) => name.push_str(&t.to_lowercase()),
            Err(_) => return false,
        }
    }
    match idna::domain_to_ascii(name) {
        Ok(a) => *name = a,
        Err(_) => return false,
    }
    name.len() <= 253
        && name.split('.').all(|p| {
            !p.is_empty()
                && p.len() <= 63
                && !p.starts_with(['-', '_'])
                && !p.ends_with(['-', '_'])
                && p.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        })
}

/// Heuristics that keep file names, paths, antivirus names and code out of the
/// domain list when nothing in the text says "this is a host".
fn plausible_in_prose(
    name: &str,
    count: usize,
    b: &[u8],
    raw: &[(usize, usize)],
    ctx: HostContext,
) -> bool {
    let tld = name.rfind('.').map_or(name, |i| &name[i + 1..]);
    let first = name.find('.').map_or(name, |i| &name[..i]);
    // A filesystem path part: `/usr/lib/x.py`, `C:\\Temp\\a.zip`. A scheme-relative
    // `//host` is a host.
    if (ctx.prev == b'/' && ctx.prev2 != b'/') || ctx.prev == b'\\' || ctx.next == b'\\' {
        return false;
    }
    // `name.ext` where ext is a common file extension.
    if count == 2 && file_ext_tlds(tld) {
        return false;
    }
    // Antivirus family names: `Win64/X.PE!MTB`, `Trojan.Win32.Agent`.
    if ctx.next == b'!' {
        return false;
    }
    // Method-call shape: `foo.bar(`.
    if ctx.next == b'(' {
        return false;
    }
    // `self.app`, `window.top`: a code receiver and a member.
    if count == 2 && code_receivers(first) {
        return false;
    }
    // camelCase labels are identifiers: `Net.WebClient`, `document.getElementById`.
    if raw.iter().any(|&(s, e)| is_camel(&b[s..e])) {
        return false;
    }
    let first_upper = raw.first().is_some_and(|&(s, _)| b[s].is_ascii_uppercase());
    if count >= 3 && first_upper && av_categories(first) {
        return false;
    }
    if count >= 3 && name.split('.').any(av_platforms) {
        return false;
    }
    // Prose such as `the dot com bubble`: the word before the spaced dot.
    if ctx.spaced && spaced_dot_stopwords(first) {
        return false;
    }
    true
}

/// A lowercase ASCII letter directly followed by an uppercase one.
fn is_camel(l: &[u8]) -> bool {
    l.windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dom(s: &str) -> Option<String> {
        let b = s.as_bytes();
        let mut labels = Vec::new();
        let mut start = 0;
        for (i, &c) in b.iter().enumerate() {
            if c == b'.' {
                labels.push((start, i));
                start = i + 1;
            }
        }
        labels.push((start, b.len()));
        let mut name = String::new();
        domain_into(b, &labels, HostContext::default(), &mut name).then_some(name)
    }

    #[test]
    fn suffix_rules() {
        assert_eq!(dom("Evil.COM").as_deref(), Some("evil.com"));
        assert_eq!(dom("evil.co.uk").as_deref(), Some("evil.co.uk"));
        assert_eq!(dom("co.uk"), None);
        assert_eq!(dom("github.io").as_deref(), Some("github.io"));
        assert_eq!(dom("update.com.exe"), None);
        assert_eq!(dom("x.local"), None);
        assert_eq!(dom("evil_x.com"), None);
        assert_eq!(dom("a_b.evil.com").as_deref(), Some("a_b.evil.com"));
        assert_eq!(dom("-evil.com"), None);
        assert_eq!(dom("bücher.de").as_deref(), Some("xn--bcher-kva.de"));
    }

    #[test]
    fn ipv4_rules() {
        let ip = |s: &str| {
            ipv4_from_labels(s.split('.').map(str::as_bytes)).map(|o| {
                let mut v = String::new();
                write_ipv4(o, &mut v);
                v
            })
        };
        assert_eq!(ip("010.001.002.003").as_deref(), Some("10.1.2.3"));
        assert_eq!(ip("256.1.1.1"), None);
        assert_eq!(ip("1.2.3"), None);
        assert_eq!(ip("1.2.3.4.5"), None);
        assert_eq!(ip("0001.2.3.4"), None);
    }
}
