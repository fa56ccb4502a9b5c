//! A YAML tree where every node knows its line and column, built from the
//! events of granit-parser (the pure-Rust YAML 1.2 parser under
//! serde-saphyr). Plain scalars are typed by the YAML 1.2 core schema.
//!
//! Duplicate mapping keys are kept (not rejected) so the validator can report
//! each one at its position and go on. Alias expansion is bounded: an alias
//! bomb is an error, not an allocation storm.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle};

/// Most nodes that aliases may copy in one stream.
const ALIAS_BUDGET: usize = 100_000;

/// A YAML node with its 1-based position (0 when unknown).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string scalar.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order, duplicates kept.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The string, if this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value of the first entry whose key is `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A scalar rendered as text (keys that are numbers or booleans included).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => Some(String::new()),
            _ => None,
        }
    }

    /// A short name of the node's type for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A YAML syntax (or budget) error with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Parse every document of a YAML stream.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut b = Builder::default();
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.map_err(|e| YamlError {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        let (line, column) = (span.start.line(), span.start.col() + 1);
        b.event(ev, line, column)?;
    }
    Ok(b.docs)
}

enum Frame {
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>, Option<Node>),
}

#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    stack: Vec<(Frame, usize, usize, usize)>,
    anchors: HashMap<usize, Node>,
    alias_nodes: usize,
    doc_has_root: bool,
}

impl Builder {
    fn event(&mut self, ev: Event<'_>, line: usize, column: usize) -> Result<(), YamlError> {
        match ev {
            Event::DocumentStart(..) => self.doc_has_root = false,
            Event::DocumentEnd if !self.doc_has_root => {
                self.docs.push(Node {
                    value: Value::Null,
                    line,
                    column,
                });
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = if style == ScalarStyle::Plain && tag.is_none() {
                    plain(&text)
                } else {
                    Value::Str(text.into_owned())
                };
                self.node(
                    Node {
                        value,
                        line,
                        column,
                    },
                    anchor,
                );
            }
            Event::SequenceStart(_, anchor, _) => {
                self.stack
                    .push((Frame::Seq(Vec::new()), anchor, line, column));
            }
            Event::MappingStart(_, anchor, _) => {
                self.stack
                    .push((Frame::Map(Vec::new(), None), anchor, line, column));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((frame, anchor, l, c)) = self.stack.pop() {
                    let value = match frame {
                        Frame::Seq(items) => Value::Seq(items),
                        Frame::Map(entries, _) => Value::Map(entries),
                    };
                    self.node(
                        Node {
                            value,
                            line: l,
                            column: c,
                        },
                        anchor,
                    );
                }
            }
            Event::Alias(id) => {
                let Some(n) = self.anchors.get(&id).cloned() else {
                    return Err(YamlError {
                        line,
                        column,
                        message: "alias to an unknown anchor".into(),
                    });
                };
                self.alias_nodes += size(&n);
                if self.alias_nodes > ALIAS_BUDGET {
                    return Err(YamlError {
                        line,
                        column,
                        message: format!(
                            "aliases expand to more than {ALIAS_BUDGET} nodes (alias bomb?)"
                        ),
                    });
                }
                self.node(n, 0);
            }
            _ => {}
        }
        Ok(())
    }

    fn node(&mut self, n: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, n.clone());
        }
        match self.stack.last_mut() {
            None => {
                self.doc_has_root = true;
                self.docs.push(n);
            }
            Some((Frame::Seq(items), ..)) => items.push(n),
            Some((Frame::Map(entries, pending), ..)) => match pending.take() {
                None => *pending = Some(n),
                Some(k) => entries.push((k, n)),
            },
        }
    }
}

fn size(n: &Node) -> usize {
    1 + match &n.value {
        Value::Seq(s) => s.iter().map(size).sum(),
        Value::Map(m) => m.iter().map(|(k, v)| size(k) + size(v)).sum(),
        _ => 0,
    }
}

/// Type a plain scalar by the YAML 1.2 core schema.
fn plain(t: &str) -> Value {
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = t.parse::<i64>()
    {
        return Value::Int(i);
    }
    if let Some(h) = t.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(h, 16)
    {
        return Value::Int(i);
    }
    if let Some(o) = t.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(o, 8)
    {
        return Value::Int(i);
    }
    let looks_float = digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if looks_float && let Ok(f) = t.parse::<f64>() {
        return Value::Float(f);
    }
    Value::Str(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_duplicates() {
        let docs = parse_documents("title: x\nlevel: high\nlevel: low\n---\na: [1, 2]\n").unwrap();
        assert_eq!(docs.len(), 2);
        let m = docs[0].as_map().unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!((m[1].0.line, m[1].0.column), (2, 1));
        assert_eq!((m[2].1.line, m[2].1.column), (3, 8));
        assert_eq!(docs[1].get("a").unwrap().type_name(), "a list");
    }

    #[test]
    fn errors_are_located() {
        let e = parse_documents("title: x\n\tlevel: high\n").unwrap_err();
        assert!(e.line >= 1 && e.message.contains("tab"), "{e:?}");
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
        assert!(parse_documents(bomb).is_err());
    }
}
