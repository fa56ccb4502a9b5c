//! The Sigma `condition` grammar: a real parser, not a pattern match.
//!
//! ```text
//! expr    := and ( "or" and )*
//! and     := not ( "and" not )*
//! not     := "not" not | primary
//! primary := "(" expr ")" | ( "1" | "all" ) "of" ( "them" | pattern ) | identifier
//! ```
//! Keywords are case-insensitive; identifiers are letters, digits and `_`, and
//! a pattern may contain `*` wildcards.

use std::fmt;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// A search identifier.
    Ident(String),
    /// `1 of X` (`all == false`) or `all of X`; `X` is a pattern or `them`
    /// (`None`).
    Of {
        /// `all of` rather than `1 of`.
        all: bool,
        /// The identifier pattern, `None` for `them`.
        pattern: Option<String>,
    },
    /// Negation.
    Not(Box<Condition>),
    /// Conjunction.
    And(Box<Condition>, Box<Condition>),
    /// Disjunction.
    Or(Box<Condition>, Box<Condition>),
}

/// A condition syntax error at a 1-based column of the condition text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    /// 1-based column (in characters) where the problem is.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Open,
    Close,
    End,
}

/// Split into tokens with their 1-based columns.
fn lex(text: &str) -> Result<Vec<(Tok, usize)>, ConditionError> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push((Tok::Open, i + 1));
            i += 1;
        } else if c == ')' {
            out.push((Tok::Close, i + 1));
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == '_' || c == '*' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '*')
            {
                i += 1;
            }
            out.push((Tok::Word(chars[start..i].iter().collect()), start + 1));
        } else {
            return Err(ConditionError {
                column: i + 1,
                message: format!("unexpected character `{c}`"),
            });
        }
    }
    out.push((Tok::End, chars.len() + 1));
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &(Tok, usize) {
        // `lex` always ends with `End`, and `pos` never passes it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(&self.peek().0, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn bump(&mut self) -> (Tok, usize) {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, ConditionError> {
        Err(ConditionError {
            column: self.peek().1,
            message: message.into(),
        })
    }

    fn expr(&mut self) -> Result<Condition, ConditionError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.bump();
            let right = self.and()?;
            left = Condition::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, ConditionError> {
        let mut left = self.not()?;
        while self.keyword("and") {
            self.bump();
            let right = self.not()?;
            left = Condition::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition, ConditionError> {
        if self.keyword("not") {
            self.bump();
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Condition, ConditionError> {
        match self.peek().0.clone() {
            Tok::Open => {
                self.bump();
                let e = self.expr()?;
                if self.peek().0 != Tok::Close {
                    return self.err("expected `)`");
                }
                self.bump();
                Ok(e)
            }
            Tok::Close => self.err("unexpected `)`"),
            Tok::End => self.err("expected a search identifier, `(`, `not`, `1 of` or `all of`"),
            Tok::Word(w) => {
                let lower = w.to_ascii_lowercase();
                if matches!(lower.as_str(), "and" | "or" | "of" | "them") {
                    return self.err(format!("unexpected keyword `{w}`"));
                }
                let quantifier = lower == "all" || w.bytes().all(|b| b.is_ascii_digit());
                if quantifier
                    && self.toks.get(self.pos + 1).is_some_and(
                        |(t, _)| matches!(t, Tok::Word(k) if k.eq_ignore_ascii_case("of")),
                    )
                {
                    if lower != "all" && w != "1" {
                        return self.err(format!("`{w} of` is not Sigma: use `1 of` or `all of`"));
                    }
                    self.bump();
                    self.bump();
                    return match self.bump() {
                        (Tok::Word(t), _) if t.eq_ignore_ascii_case("them") => Ok(Condition::Of {
                            all: lower == "all",
                            pattern: None,
                        }),
                        (Tok::Word(p), _) => Ok(Condition::Of {
                            all: lower == "all",
                            pattern: Some(p),
                        }),
                        (_, column) => Err(ConditionError {
                            column,
                            message: "expected `them` or an identifier pattern after `of`".into(),
                        }),
                    };
                }
                if w.contains('*') {
                    return self.err(format!(
                        "wildcard `{w}` is only allowed after `1 of` or `all of`"
                    ));
                }
                self.bump();
                Ok(Condition::Ident(w))
            }
        }
    }
}

/// Parse a Sigma condition.
///
/// ```
/// use threatmapper_rules::condition::{parse, Condition};
/// let c = parse("selection and not 1 of filter_*").unwrap();
/// assert!(matches!(c, Condition::And(..)));
/// let err = parse("selection and (filter").unwrap_err();
/// assert_eq!(err.column, 22);
/// ```
pub fn parse(text: &str) -> Result<Condition, ConditionError> {
    let mut p = Parser {
        toks: lex(text)?,
        pos: 0,
    };
    let c = p.expr()?;
    if p.peek().0 != Tok::End {
        return p.err("expected `and`, `or` or the end of the condition");
    }
    Ok(c)
}

/// Does an identifier pattern with `*` wildcards match a name?
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// Identifiers and patterns that refer to no defined search identifier, with a
/// message each.
pub fn undefined_references(c: &Condition, defined: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    walk(c, defined, &mut out);
    out
}

fn walk(c: &Condition, defined: &[&str], out: &mut Vec<String>) {
    match c {
        Condition::Ident(i) if !defined.contains(&i.as_str()) => {
            out.push(format!("`{i}` is not a search identifier of this rule"));
        }
        Condition::Of {
            pattern: Some(p), ..
        } if !defined.iter().any(|d| pattern_matches(p, d)) => {
            out.push(format!("pattern `{p}` matches no search identifier"));
        }
        Condition::Not(x) => walk(x, defined, out),
        Condition::And(a, b) | Condition::Or(a, b) => {
            walk(a, defined, out);
            walk(b, defined, out);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        for ok in [
            "selection",
            "selection and not filter",
            "1 of selection_* and not 1 of filter_*",
            "all of them",
            "1 of them",
            "(a or b) and not (c and d)",
            "a AND NOT b OR c",
            "not not a",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        let e = |t: &str| parse(t).unwrap_err();
        assert_eq!(e("").column, 1);
        assert_eq!(e("a and").column, 6);
        assert_eq!(e("(a or b").column, 8);
        assert_eq!(e("a b").column, 3);
        assert_eq!(e("a | b").column, 3);
        assert_eq!(e("2 of them").column, 1);
        assert_eq!(e("sel*").column, 1);
        assert_eq!(e("a)").column, 2);
        assert_eq!(e("1 of").column, 5);
    }

    #[test]
    fn precedence() {
        let c = parse("a or b and c").unwrap();
        assert_eq!(
            c,
            Condition::Or(
                Box::new(Condition::Ident("a".into())),
                Box::new(Condition::And(
                    Box::new(Condition::Ident("b".into())),
                    Box::new(Condition::Ident("c".into()))
                ))
            )
        );
    }

    #[test]
    fn references() {
        let c = parse("selection and not 1 of filter_* and missing").unwrap();
        let undefined = undefined_references(&c, &["selection", "filter_a"]);
        assert_eq!(
            undefined,
            ["`missing` is not a search identifier of this rule"]
        );
        let c = parse("1 of sel_*").unwrap();
        assert_eq!(undefined_references(&c, &["selection"]).len(), 1);
        assert!(pattern_matches("sel*tion", "selection"));
        assert!(pattern_matches("*", "x"));
        assert!(!pattern_matches("a*b*c", "acb"));
    }
}
