//! Byte-class tables that drive the single-pass scanner.

/// ASCII letter or digit: the only bytes that join a token.
pub(crate) const ALNUM: u8 = 1;
/// Hexadecimal digit.
pub(crate) const HEX: u8 = 2;
/// A byte that may appear inside a host label: ASCII alnum, `-`, `_`.
pub(crate) const LABEL: u8 = 4;
/// A byte that can start or anchor an observable; the scanner stops only here.
pub(crate) const TRIGGER: u8 = 8;
/// A byte allowed in the local part of an e-mail address.
pub(crate) const LOCAL: u8 = 16;
/// A byte allowed in a URL's path, query or fragment.
pub(crate) const URLC: u8 = 32;

const fn build() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0usize;
    while i < 256 {
        let c = i as u8;
        let mut v = 0u8;
        let alnum = c.is_ascii_alphanumeric();
        if alnum {
            v |= ALNUM | LABEL | LOCAL;
        }
        if c.is_ascii_hexdigit() {
            v |= HEX;
        }
        if c == b'-' || c == b'_' {
            v |= LABEL | LOCAL;
        }
        if c == b'.' || c == b'%' || c == b'+' {
            v |= LOCAL;
        }
        if c > 0x20
            && c < 0x7f
            && !matches!(
                c,
                b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}' | b'\''
            )
        {
            v |= URLC;
        }
        if matches!(c, b'.' | b':' | b'@' | b'[' | b'(' | b'{' | b'\\') {
            v |= TRIGGER;
        }
        t[i] = v;
        i += 1;
    }
    t
}

/// Class bits for every byte value.
pub(crate) static CLASS: [u8; 256] = build();

#[inline(always)]
pub(crate) fn cls(b: u8) -> u8 {
    CLASS[b as usize]
}

#[inline(always)]
pub(crate) fn is_alnum(b: u8) -> bool {
    cls(b) & ALNUM != 0
}

#[inline(always)]
pub(crate) fn is_hex(b: u8) -> bool {
    cls(b) & HEX != 0
}

/// Decode the UTF-8 character starting at `i`, if the bytes there are valid.
pub(crate) fn char_at(b: &[u8], i: usize) -> Option<(char, usize)> {
    let lead = *b.get(i)?;
    let w = match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let s = b.get(i..i + w)?;
    let c = std::str::from_utf8(s).ok()?.chars().next()?;
    Some((c, w))
}

/// Decode the UTF-8 character that ends just before `i`.
pub(crate) fn char_before(b: &[u8], i: usize) -> Option<(char, usize)> {
    let lim = i.saturating_sub(4);
    let mut j = i;
    while j > lim {
        j -= 1;
        if b[j] & 0xC0 != 0x80 {
            let (c, w) = char_at(b, j)?;
            return (j + w == i).then_some((c, w));
        }
    }
    None
}

/// CJK ideographs, kana, hangul, full-width forms and CJK punctuation: these
/// separate tokens even though many of them are alphabetic.
pub(crate) fn is_cjk_like(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF
        | 0x2E80..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFFEF
        | 0x20000..=0x3FFFF)
}

/// A non-ASCII character that may be part of an internationalised host label.
pub(crate) fn is_idn_char(c: char) -> bool {
    (c.is_alphabetic() && !is_cjk_like(c)) || ('\u{300}'..='\u{36f}').contains(&c)
}

/// Unicode dashes accepted between the parts of a CVE id.
pub(crate) fn is_unicode_dash(c: char) -> bool {
    matches!(
        c,
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}'
    )
}
