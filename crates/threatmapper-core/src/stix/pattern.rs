//! The STIX 2.1 patterning language: a parser for indicator patterns.
//!
//! ```text
//! pattern     := observation ( ("AND" | "OR" | "FOLLOWEDBY") observation )*
//! observation := "[" comparison-expr "]" qualifier* | "(" pattern ")" qualifier*
//! comparison-expr := comparison ( ("AND" | "OR") comparison )* with parentheses
//! comparison  := object-path "NOT"? operator value
//! operator    := = != < <= > >= IN LIKE MATCHES ISSUBSET ISSUPERSET
//! qualifier   := WITHIN n SECONDS | START t'...' STOP t'...' | REPEATS n TIMES
//! ```
//! Values: `'string'` (with `\'` and `\\`), numbers, `true`/`false`,
//! `t'timestamp'`, `b'base64'`, `h'hex'`, and `(v, ...)` lists.

use std::borrow::Cow;

/// One comparison of a pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The object type (`ipv4-addr`).
    pub object_type: String,
    /// The property path (`value`, `hashes.SHA-256`), quotes removed.
    pub path: String,
    /// The operator, uppercase (`=`, `IN`, `LIKE`, ...).
    pub operator: String,
    /// `NOT` before the operator.
    pub negated: bool,
    /// String values (one, or several for `IN`); other literals as written.
    pub values: Vec<String>,
}

/// A pattern syntax error with its 1-based column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// 1-based character column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// A token, borrowed from the pattern unless a string has escapes. Positions
/// are byte offsets; errors convert them to character columns.
#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Colon,
    Op(&'static str),
    Word(&'a str),
    Str(Cow<'a, str>),
    Typed(u8, Cow<'a, str>),
    Num(&'a str),
    End,
}

/// The 1-based character column of byte offset `at`.
fn column(s: &str, at: usize) -> usize {
    s.get(..at).map_or(at, |p| p.chars().count()) + 1
}

fn lex(s: &str) -> Result<Vec<(Tok<'_>, usize)>, PatternError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(8);
    let mut i = 0;
    let err = |i: usize, m: &str| PatternError {
        column: column(s, i),
        message: m.to_owned(),
    };
    let word_byte = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.');
    while i < b.len() {
        let ch = b[i];
        let start = i;
        let next = b.get(i + 1).copied();
        match ch {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'[' => out.push((Tok::LBracket, start)),
            b']' => out.push((Tok::RBracket, start)),
            b'(' => out.push((Tok::LParen, start)),
            b')' => out.push((Tok::RParen, start)),
            b',' => out.push((Tok::Comma, start)),
            b':' => out.push((Tok::Colon, start)),
            b'=' => out.push((Tok::Op("="), start)),
            b'!' | b'<' | b'>' => {
                if next == Some(b'=') {
                    let op = match ch {
                        b'!' => "!=",
                        b'<' => "<=",
                        _ => ">=",
                    };
                    out.push((Tok::Op(op), start));
                    i += 2;
                    continue;
                }
                if ch == b'!' {
                    return Err(err(i, "`!` must be followed by `=`"));
                }
                out.push((Tok::Op(if ch == b'<' { "<" } else { ">" }), start));
            }
            b'\'' => {
                let (v, next) = string(s, i + 1).ok_or_else(|| err(i, "string is never closed"))?;
                out.push((Tok::Str(v), start));
                i = next;
                continue;
            }
            b't' | b'b' | b'h' if next == Some(b'\'') => {
                let (v, next) = string(s, i + 2).ok_or_else(|| err(i, "string is never closed"))?;
                out.push((Tok::Typed(ch, v), start));
                i = next;
                continue;
            }
            b'*' => out.push((Tok::Word("*"), start)),
            d if d.is_ascii_digit()
                || ((d == b'-' || d == b'+') && next.is_some_and(|n| n.is_ascii_digit())) =>
            {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                    j += 1;
                }
                out.push((Tok::Num(&s[i..j]), start));
                i = j;
                continue;
            }
            w if w.is_ascii_alphabetic()
                || w == b'_'
                || (w == b'.' && next.is_some_and(|n| n.is_ascii_alphabetic())) =>
            {
                let mut j = i;
                while j < b.len() && word_byte(b[j]) {
                    j += 1;
                }
                out.push((Tok::Word(&s[i..j]), start));
                i = j;
                continue;
            }
            _ => {
                let other = s[i..].chars().next().unwrap_or('?');
                return Err(err(i, &format!("unexpected character `{other}`")));
            }
        }
        i += 1;
    }
    out.push((Tok::End, b.len()));
    Ok(out)
}

/// A quoted string from byte `i` (just after the opening quote): returns the
/// value and the offset after the closing quote. Borrowed unless it has
/// escapes (`\x` stands for `x`).
fn string(s: &str, i: usize) -> Option<(Cow<'_, str>, usize)> {
    let b = s.as_bytes();
    let close = i + memchr::memchr2(b'\'', b'\\', b.get(i..)?)?;
    if b[close] == b'\'' {
        return Some((Cow::Borrowed(&s[i..close]), close + 1));
    }
    let mut v = String::from(&s[i..close]);
    let mut rest = s[close..].chars();
    while let Some(c) = rest.next() {
        match c {
            '\\' => v.push(rest.next()?),
            '\'' => return Some((Cow::Owned(v), s.len() - rest.as_str().len())),
            x => v.push(x),
        }
    }
    None
}

struct P<'a> {
    s: &'a str,
    t: Vec<(Tok<'a>, usize)>,
    i: usize,
    /// Index of the token `bump` returned last: errors point at it.
    last: usize,
    out: Vec<Cmp<'a>>,
}

/// A comparison borrowed from the pattern (what [`Comparison`] owns).
#[derive(Debug)]
pub(crate) struct Cmp<'a> {
    pub(crate) object_type: &'a str,
    pub(crate) path: Cow<'a, str>,
    pub(crate) operator: &'static str,
    pub(crate) negated: bool,
    pub(crate) values: Vec<Cow<'a, str>>,
}

/// Append a piece of an object path, borrowing while there is one piece.
fn push_part<'a>(path: &mut Cow<'a, str>, part: Cow<'a, str>) {
    if path.is_empty() {
        *path = part;
    } else {
        path.to_mut().push_str(&part);
    }
}

impl<'a> P<'a> {
    fn peek(&self) -> &Tok<'a> {
        &self.t[self.i.min(self.t.len() - 1)].0
    }
    fn pos(&self) -> usize {
        column(self.s, self.t[self.i.min(self.t.len() - 1)].1)
    }
    fn bump(&mut self) -> Tok<'a> {
        let t = self.peek().clone();
        self.last = self.i.min(self.t.len() - 1);
        if self.i < self.t.len() - 1 {
            self.i += 1;
        }
        t
    }
    /// An error at the token just consumed.
    fn err<T>(&self, m: impl Into<String>) -> Result<T, PatternError> {
        Err(PatternError {
            column: column(self.s, self.t[self.last].1),
            message: m.into(),
        })
    }
    /// An error at the next token.
    fn err_here<T>(&self, m: impl Into<String>) -> Result<T, PatternError> {
        Err(PatternError {
            column: self.pos(),
            message: m.into(),
        })
    }
    fn kw(&self, k: &str) -> bool {
        matches!(self.peek(), Tok::Word(w) if w.eq_ignore_ascii_case(k))
    }

    fn pattern(&mut self) -> Result<(), PatternError> {
        self.observation()?;
        while self.kw("AND") || self.kw("OR") || self.kw("FOLLOWEDBY") {
            self.bump();
            self.observation()?;
        }
        Ok(())
    }

    fn observation(&mut self) -> Result<(), PatternError> {
        match self.peek() {
            Tok::LBracket => {
                self.bump();
                self.comparison_expr()?;
                if self.bump() != Tok::RBracket {
                    return self.err("expected `]`");
                }
            }
            Tok::LParen => {
                self.bump();
                self.pattern()?;
                if self.bump() != Tok::RParen {
                    return self.err("expected `)`");
                }
            }
            _ => return self.err_here("expected `[` to start an observation"),
        }
        self.qualifiers()
    }

    fn qualifiers(&mut self) -> Result<(), PatternError> {
        loop {
            if self.kw("WITHIN") {
                self.bump();
                if !matches!(self.bump(), Tok::Num(_)) {
                    return self.err("expected `WITHIN <number> SECONDS`");
                }
                if !self.kw("SECONDS") {
                    return self.err_here("expected `SECONDS`");
                }
                self.bump();
            } else if self.kw("REPEATS") {
                self.bump();
                if !matches!(self.bump(), Tok::Num(_)) {
                    return self.err("expected `REPEATS <number> TIMES`");
                }
                if !self.kw("TIMES") {
                    return self.err_here("expected `TIMES`");
                }
                self.bump();
            } else if self.kw("START") {
                self.bump();
                if !matches!(self.bump(), Tok::Typed(b't', _)) {
                    return self.err("expected `START t'...' STOP t'...'`");
                }
                if !self.kw("STOP") {
                    return self.err_here("expected `STOP`");
                }
                self.bump();
                if !matches!(self.bump(), Tok::Typed(b't', _)) {
                    return self.err("expected a timestamp t'...' after STOP");
                }
            } else {
                return Ok(());
            }
        }
    }

    fn comparison_expr(&mut self) -> Result<(), PatternError> {
        self.comparison_term()?;
        while self.kw("AND") || self.kw("OR") {
            self.bump();
            self.comparison_term()?;
        }
        Ok(())
    }

    fn comparison_term(&mut self) -> Result<(), PatternError> {
        if *self.peek() == Tok::LParen {
            self.bump();
            self.comparison_expr()?;
            if self.bump() != Tok::RParen {
                return self.err("expected `)`");
            }
            return Ok(());
        }
        let Tok::Word(object_type) = self.bump() else {
            return self.err("expected an object path such as ipv4-addr:value");
        };
        if self.bump() != Tok::Colon {
            return self.err("expected `:` after the object type");
        }
        let mut path = Cow::Borrowed("");
        loop {
            match self.bump() {
                Tok::Word(w) => {
                    // `hashes.'SHA-256'`: a word ending in `.` then a quoted part.
                    push_part(&mut path, Cow::Borrowed(w));
                    if w.ends_with('.')
                        && let Tok::Str(q) = self.peek().clone()
                    {
                        self.bump();
                        push_part(&mut path, q);
                    }
                }
                Tok::Str(q) => push_part(&mut path, q),
                _ => return self.err("expected a property name"),
            }
            // `[*]` / `[0]` list indexes.
            if *self.peek() == Tok::LBracket
                && matches!(
                    self.t.get(self.i + 1).map(|t| &t.0),
                    Some(Tok::Num(_)) | Some(Tok::Op(_)) | Some(Tok::Word(_))
                )
                && matches!(self.t.get(self.i + 2).map(|t| &t.0), Some(Tok::RBracket))
            {
                self.bump();
                self.bump();
                self.bump();
                path.to_mut().push_str("[]");
            }
            if let Tok::Word(w) = self.peek().clone()
                && w.starts_with('.')
            {
                continue;
            }
            break;
        }
        let negated = if self.kw("NOT") {
            self.bump();
            true
        } else {
            false
        };
        let operator = match self.bump() {
            Tok::Op(o) => o,
            Tok::Word(w) => match ["IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"]
                .into_iter()
                .find(|k| w.eq_ignore_ascii_case(k))
            {
                Some(k) => k,
                None => return self.err("expected a comparison operator"),
            },
            _ => return self.err("expected a comparison operator"),
        };
        let mut values = Vec::new();
        if *self.peek() == Tok::LParen {
            self.bump();
            loop {
                values.push(self.literal()?);
                match self.bump() {
                    Tok::Comma => {}
                    Tok::RParen => break,
                    _ => return self.err("expected `,` or `)` in a list"),
                }
            }
        } else {
            values.push(self.literal()?);
        }
        self.out.push(Cmp {
            object_type,
            path,
            operator,
            negated,
            values,
        });
        Ok(())
    }

    fn literal(&mut self) -> Result<Cow<'a, str>, PatternError> {
        match self.bump() {
            Tok::Str(s) | Tok::Typed(_, s) => Ok(s),
            Tok::Num(s) => Ok(Cow::Borrowed(s)),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") => {
                Ok(Cow::Borrowed(w))
            }
            _ => self.err("expected a value"),
        }
    }
}

/// Parse a STIX pattern into its comparisons.
///
/// ```
/// use threatmapper_core::stix::pattern::parse;
/// let c = parse("[file:hashes.'SHA-256' = 'abc' OR ipv4-addr:value = '1.2.3.4'] WITHIN 60 SECONDS").unwrap();
/// assert_eq!((c[0].path.as_str(), c[1].object_type.as_str()), ("hashes.SHA-256", "ipv4-addr"));
/// assert_eq!(parse("[ipv4-addr:value = '1.2.3.4'").unwrap_err().column, 29);
/// ```
pub fn parse(pattern: &str) -> Result<Vec<Comparison>, PatternError> {
    Ok(comparisons(pattern)?
        .into_iter()
        .map(|c| Comparison {
            object_type: c.object_type.to_owned(),
            path: c.path.into_owned(),
            operator: c.operator.to_owned(),
            negated: c.negated,
            values: c.values.into_iter().map(Cow::into_owned).collect(),
        })
        .collect())
}

/// [`parse`] without copying: the comparisons borrow from the pattern.
pub(crate) fn comparisons(pattern: &str) -> Result<Vec<Cmp<'_>>, PatternError> {
    let mut p = P {
        s: pattern,
        t: lex(pattern)?,
        i: 0,
        last: 0,
        out: Vec::new(),
    };
    p.pattern()?;
    if *p.peek() != Tok::End {
        return p.err_here("expected AND, OR, FOLLOWEDBY or the end of the pattern");
    }
    Ok(p.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        for ok in [
            "[ipv4-addr:value = '198.51.100.1/32']",
            "[domain-name:value = 'evil.com' OR ipv4-addr:value = '1.2.3.4']",
            "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e'] AND [url:value LIKE 'http://%']",
            "([a:b = 1] FOLLOWEDBY [c:d != 'x']) WITHIN 300 SECONDS",
            "[email-message:from_ref.value MATCHES '.+@evil\\\\.com$']",
            "[network-traffic:dst_ref.value IN ('1.1.1.1', '2.2.2.2')] REPEATS 5 TIMES",
            "[file:name NOT = 'a'] START t'2016-01-01T00:00:00Z' STOP t'2016-02-01T00:00:00Z'",
            "[windows-registry-key:values[*].name = 'x']",
            "[file:hashes.'SHA-256' = 'abc']",
        ] {
            assert!(parse(ok).is_ok(), "{ok}: {:?}", parse(ok));
        }
        for (bad, col) in [
            ("ipv4-addr:value = '1'", 1),
            ("[ipv4-addr:value = '1'", 23),
            ("[ipv4-addr:value '1']", 18),
            ("[ipv4-addr value = '1']", 12),
            ("[ipv4-addr:value = '1] ", 20),
            ("[a:b = 1] WITHIN SECONDS", 18),
            ("[a:b = 1] [c:d = 2]", 11),
        ] {
            assert_eq!(parse(bad).map_err(|e| e.column), Err(col), "{bad}");
        }
    }
}
