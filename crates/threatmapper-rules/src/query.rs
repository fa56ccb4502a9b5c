//! KQL, SPL and EQL validation: a tokenizer for each language's strings,
//! comments and brackets, and a check of the query's pipeline shape (a source
//! first, a known operator after every pipe, no empty stage).
//!
//! This is a structural check, not yet a full expression grammar: operands
//! inside a stage are tokenized (so quoting and nesting errors are found with
//! their position) but not type-checked.

use crate::diagnostic::{Diagnostic, Severity};
use crate::generate::Language;
use crate::sigma::PLACEHOLDER;

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Word(String),
    Str,
    Pipe,
    Semi,
    Open(char),
    Close(char),
    Other(char),
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    line: usize,
    column: usize,
    depth: usize,
}

const KQL_OPERATORS: &[&str] = &[
    "where",
    "filter",
    "project",
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "extend",
    "summarize",
    "join",
    "union",
    "take",
    "limit",
    "sort",
    "order",
    "top",
    "top-nested",
    "top-hitters",
    "count",
    "distinct",
    "parse",
    "parse-where",
    "parse-kv",
    "mv-expand",
    "mv-apply",
    "render",
    "lookup",
    "evaluate",
    "make-series",
    "as",
    "invoke",
    "search",
    "sample",
    "sample-distinct",
    "serialize",
    "getschema",
    "facet",
    "fork",
    "partition",
    "scan",
    "consume",
    "reduce",
    "range",
    "print",
    "find",
    "externaldata",
];
const KQL_SOURCES: &[&str] = &[
    "union",
    "search",
    "print",
    "range",
    "datatable",
    "find",
    "evaluate",
    "externaldata",
];
const SPL_COMMANDS: &[&str] = &[
    "search",
    "where",
    "eval",
    "stats",
    "table",
    "fields",
    "rename",
    "rex",
    "regex",
    "dedup",
    "sort",
    "head",
    "tail",
    "lookup",
    "inputlookup",
    "outputlookup",
    "tstats",
    "timechart",
    "chart",
    "top",
    "rare",
    "transaction",
    "join",
    "append",
    "appendcols",
    "appendpipe",
    "eventstats",
    "streamstats",
    "bin",
    "bucket",
    "fillnull",
    "makemv",
    "mvexpand",
    "mvcombine",
    "spath",
    "convert",
    "addinfo",
    "collect",
    "return",
    "format",
    "map",
    "iplocation",
    "geostats",
    "tojson",
    "datamodel",
    "from",
    "makeresults",
    "rest",
    "metadata",
    "multisearch",
    "union",
    "foreach",
    "untable",
    "xyseries",
    "addtotals",
    "reverse",
    "uniq",
    "strcat",
    "fieldformat",
    "sendemail",
    "where",
    "nomv",
    "inputcsv",
    "outputcsv",
    "loadjob",
    "savedsearch",
    "typeahead",
    "walklate",
    "delta",
    "accum",
    "autoregress",
    "kvform",
    "extract",
    "xmlkv",
];
const SPL_GENERATING: &[&str] = &[
    "tstats",
    "inputlookup",
    "datamodel",
    "from",
    "makeresults",
    "rest",
    "metadata",
    "search",
    "multisearch",
    "inputcsv",
    "loadjob",
    "savedsearch",
    "union",
];
const EQL_PIPES: &[&str] = &[
    "head",
    "tail",
    "filter",
    "unique",
    "unique_count",
    "count",
    "sort",
];

/// Validate a KQL, SPL or EQL query. (Sigma goes through [`crate::sigma`].)
///
/// ```
/// use threatmapper_rules::{generate::Language, query::validate};
/// assert!(validate(Language::Kql, "SecurityEvent | where EventID == 4625 | take 10").is_empty());
/// let d = validate(Language::Kql, "SecurityEvent | whre EventID == 4625");
/// assert_eq!((d[0].code, d[0].line, d[0].column), ("KQL005", 1, 17));
/// ```
pub fn validate(lang: Language, text: &str) -> Vec<Diagnostic> {
    let p = match lang {
        Language::Kql => "KQL",
        Language::Spl => "SPL",
        Language::Eql => "EQL",
        Language::Sigma => return crate::sigma::validate(text),
    };
    let mut out = Vec::new();
    let code = |n: u8| -> &'static str {
        match (p, n) {
            ("KQL", 1) => "KQL001",
            ("KQL", 2) => "KQL002",
            ("KQL", 3) => "KQL003",
            ("KQL", 4) => "KQL004",
            ("KQL", 5) => "KQL005",
            ("KQL", 7) => "KQL007",
            ("KQL", _) => "KQL900",
            ("SPL", 1) => "SPL001",
            ("SPL", 2) => "SPL002",
            ("SPL", 3) => "SPL003",
            ("SPL", 4) => "SPL004",
            ("SPL", 5) => "SPL005",
            ("SPL", 6) => "SPL006",
            ("SPL", _) => "SPL900",
            (_, 1) => "EQL001",
            (_, 2) => "EQL002",
            (_, 3) => "EQL003",
            (_, 4) => "EQL004",
            (_, 5) => "EQL005",
            (_, 7) => "EQL007",
            _ => "EQL900",
        }
    };
    let err = |out: &mut Vec<Diagnostic>, n: u8, msg: String, line: usize, col: usize| {
        out.push(Diagnostic::new(Severity::Error, code(n), msg, line, col));
    };
    for (i, l) in text.lines().enumerate() {
        for (at, _) in l.match_indices(PLACEHOLDER) {
            out.push(Diagnostic::new(
                Severity::Warning,
                code(9),
                format!("`{PLACEHOLDER}` must be replaced: not ready for production"),
                i + 1,
                l[..at].chars().count() + 1,
            ));
        }
    }
    let toks = match lex(lang, text) {
        Ok(t) => t,
        Err((msg, line, col)) => {
            err(&mut out, 1, msg, line, col);
            return out;
        }
    };
    // Brackets.
    let mut stack: Vec<&Tok> = Vec::new();
    for t in &toks {
        match t.kind {
            Kind::Open(_) => stack.push(t),
            Kind::Close(c) => {
                let want = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                match stack.pop() {
                    Some(o) if o.kind == Kind::Open(want) => {}
                    Some(o) => {
                        err(
                            &mut out,
                            2,
                            format!("`{c}` closes a bracket opened at {}:{}", o.line, o.column),
                            t.line,
                            t.column,
                        );
                        return out;
                    }
                    None => {
                        err(&mut out, 2, format!("unbalanced `{c}`"), t.line, t.column);
                        return out;
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(o) = stack.pop() {
        err(
            &mut out,
            2,
            "bracket is never closed".into(),
            o.line,
            o.column,
        );
        return out;
    }
    // The last statement (KQL `let x = ...;` statements come before it).
    let body: Vec<&Tok> = match lang {
        Language::Kql => {
            let last_semi = toks
                .iter()
                .rposition(|t| t.kind == Kind::Semi && t.depth == 0);
            toks[last_semi.map_or(0, |i| i + 1)..].iter().collect()
        }
        _ => toks.iter().collect(),
    };
    if body.is_empty() {
        let (l, c) = toks.last().map_or((1, 1), |t| (t.line, t.column));
        err(&mut out, 4, "the query is empty".into(), l, c);
        return out;
    }
    // Stages split at top-level pipes.
    let mut stages: Vec<(Option<&Tok>, Vec<&Tok>)> = vec![(None, Vec::new())];
    for t in body {
        if t.kind == Kind::Pipe && t.depth == 0 {
            stages.push((Some(t), Vec::new()));
        } else if let Some(last) = stages.last_mut() {
            last.1.push(t);
        }
    }
    for (pipe, st) in &stages {
        if st.is_empty() {
            // A leading pipe (SPL generating command) leaves stage 0 empty.
            if pipe.is_none() && lang == Language::Spl {
                continue;
            }
            let (l, c) = pipe.map_or((1, 1), |p| (p.line, p.column));
            err(&mut out, 3, "empty pipeline stage".into(), l, c);
        }
    }
    let word = |t: Option<&&Tok>| match t.map(|t| &t.kind) {
        Some(Kind::Word(w)) => Some(w.to_ascii_lowercase()),
        _ => None,
    };
    // The source.
    let first = stages.first().and_then(|s| s.1.first());
    match lang {
        Language::Kql => {
            if !matches!(first.map(|t| &t.kind), Some(Kind::Word(_))) {
                let (l, c) = first.map_or((1, 1), |t| (t.line, t.column));
                err(
                    &mut out,
                    4,
                    "a query starts with a table, a function or a source operator such as union"
                        .into(),
                    l,
                    c,
                );
            } else if let Some(w) = word(first)
                && KQL_OPERATORS.contains(&w.as_str())
                && !KQL_SOURCES.contains(&w.as_str())
            {
                let (l, c) = first.map_or((1, 1), |t| (t.line, t.column));
                err(&mut out, 4, format!("`{w}` needs a table before it"), l, c);
            }
        }
        Language::Spl => {
            let starts_with_command = stages[0].1.is_empty();
            let has_index = body_has_index(&stages[0].1);
            if starts_with_command {
                let cmd = stages.get(1).and_then(|s| s.1.first());
                if let Some(w) = word(cmd)
                    && !SPL_GENERATING.contains(&w.as_str())
                {
                    let (l, c) = cmd.map_or((1, 1), |t| (t.line, t.column));
                    err(
                        &mut out,
                        4,
                        format!(
                            "`| {w}` cannot start a search: use a generating command such as tstats or inputlookup"
                        ),
                        l,
                        c,
                    );
                }
            } else if !has_index {
                let (l, c) = first.map_or((1, 1), |t| (t.line, t.column));
                err(
                    &mut out,
                    4,
                    "the search names no index (add index=... or start with a generating command)"
                        .into(),
                    l,
                    c,
                );
            }
            // Lowercase and/or in a search are search terms, not operators.
            for t in &stages[0].1 {
                if let Kind::Word(w) = &t.kind
                    && (w == "and" || w == "or" || w == "not")
                {
                    out.push(Diagnostic::new(
                        Severity::Warning,
                        code(6),
                        format!(
                            "lowercase `{w}` is a search term, not an operator: write `{}`",
                            w.to_ascii_uppercase()
                        ),
                        t.line,
                        t.column,
                    ));
                }
            }
        }
        _ => {
            let w0 = word(first);
            let ok = match w0.as_deref() {
                Some("sequence" | "sample") => true,
                Some(_) => word(stages[0].1.get(1)).as_deref() == Some("where"),
                None => false,
            };
            if !ok {
                let (l, c) = first.map_or((1, 1), |t| (t.line, t.column));
                err(&mut out, 4, "an EQL query starts with `<event category> where <condition>` (or sequence/sample)".into(), l, c);
            }
        }
    }
    // Operators after pipes.
    for (pipe, st) in stages.iter().skip(1) {
        let Some(t) = st.first() else { continue };
        let known = |w: &str| match lang {
            Language::Kql => KQL_OPERATORS.contains(&w),
            Language::Spl => SPL_COMMANDS.contains(&w),
            _ => EQL_PIPES.contains(&w),
        };
        match &t.kind {
            Kind::Word(w) if known(&w.to_ascii_lowercase()) => {}
            Kind::Word(w) => err(
                &mut out,
                5,
                format!("unknown operator `{w}` after `|`"),
                t.line,
                t.column,
            ),
            _ => {
                let (l, c) = pipe.map_or((t.line, t.column), |p| (p.line, p.column));
                err(&mut out, 5, "an operator must follow `|`".into(), l, c);
            }
        }
    }
    // Conditions: KQL `where`/`filter` stages and the EQL `where` clause are
    // parsed as expressions.
    for (k, (_, st)) in stages.iter().enumerate() {
        let cond: Option<&[&Tok]> = match lang {
            Language::Kql => match word(st.first()).as_deref() {
                Some("where" | "filter") => Some(&st[1..]),
                _ => None,
            },
            Language::Eql if k == 0 => {
                match (word(st.first()).as_deref(), word(st.get(1)).as_deref()) {
                    (Some(w), Some("where")) if w != "sequence" && w != "sample" => Some(&st[2..]),
                    _ => None,
                }
            }
            Language::Eql => match word(st.first()).as_deref() {
                Some("filter") => Some(&st[1..]),
                _ => None,
            },
            _ => None,
        };
        if let Some(toks) = cond {
            let anchor = st.first().map_or((1, 1), |t| (t.line, t.column));
            if let Err((line, col, msg)) = expression(lang, toks, anchor) {
                err(&mut out, 7, msg, line, col);
            }
        }
    }
    if stages.len() == 1 && lang == Language::Spl && stages[0].1.is_empty() {
        err(&mut out, 4, "the query is empty".into(), 1, 1);
    }
    out.sort_by_key(|d| (d.line, d.column));
    out
}

/// Word operators between two operands.
fn word_operator(lang: Language, w: &str) -> bool {
    let w = w.to_ascii_lowercase();
    let common = matches!(w.as_str(), "and" | "or" | "in" | "like");
    let kql = matches!(
        w.as_str(),
        "has"
            | "has_cs"
            | "has_any"
            | "has_all"
            | "hasprefix"
            | "hasprefix_cs"
            | "hassuffix"
            | "hassuffix_cs"
            | "contains"
            | "contains_cs"
            | "startswith"
            | "startswith_cs"
            | "endswith"
            | "endswith_cs"
            | "matches"
            | "between"
            | "regex"
    );
    let eql = matches!(w.as_str(), "regex" | "with" | "by" | "of");
    common || (lang == Language::Kql && kql) || (lang == Language::Eql && eql)
}

/// Check that `toks` form one expression: operands joined by operators,
/// prefix `not`/`-`/`!`, calls `f(...)`, parenthesised lists. Returns the
/// position and message of the first problem.
fn expression(
    lang: Language,
    toks: &[&Tok],
    anchor: (usize, usize),
) -> Result<(), (usize, usize, String)> {
    if toks.is_empty() {
        return Err((anchor.0, anchor.1, "the condition is empty".into()));
    }
    // `true` when the previous token ends an operand.
    let mut after_operand = false;
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        let at = |msg: String| Err((t.line, t.column, msg));
        match &t.kind {
            Kind::Word(w) if word_operator(lang, w) => {
                let lw = w.to_ascii_lowercase();
                if !after_operand && lw != "in" {
                    return at(format!("`{w}` needs an operand before it"));
                }
                // `matches regex`: one operator spelled with two words.
                if lw == "matches"
                    && matches!(toks.get(i + 1).map(|t| &t.kind), Some(Kind::Word(r)) if r.eq_ignore_ascii_case("regex"))
                {
                    i += 1;
                }
                after_operand = false;
            }
            Kind::Word(w) if w.eq_ignore_ascii_case("not") => {
                if after_operand {
                    return at("`not` cannot follow an operand: join them with `and`/`or`".into());
                }
            }
            Kind::Word(_) | Kind::Str => {
                if after_operand {
                    return at("two operands with no operator between them".into());
                }
                after_operand = true;
            }
            Kind::Open(_) => {
                // A call or a list: skip to the matching closer.
                let depth = t.depth;
                let mut j = i + 1;
                while j < toks.len()
                    && !(matches!(toks[j].kind, Kind::Close(_)) && toks[j].depth == depth)
                {
                    j += 1;
                }
                i = j;
                after_operand = true;
            }
            Kind::Close(_) => after_operand = true,
            Kind::Other(c) => {
                let c = *c;
                match c {
                    '=' | '<' | '>' | ':' | '+' | '*' | '/' | '%' | '~' => {
                        // Part of a multi-character operator (`==`, `<=`, `=~`, `in~`)?
                        let prev_op = i > 0
                            && match &toks[i - 1].kind {
                                Kind::Other(p) => "=<>!~:".contains(*p),
                                // `in~`, `like~`, `regex~`: case-insensitive forms.
                                Kind::Word(w) => c == '~' && word_operator(lang, w),
                                _ => false,
                            };
                        if !(after_operand || prev_op || (c == '*' && lang == Language::Eql)) {
                            return at(format!("`{c}` needs an operand before it"));
                        }
                        after_operand = false;
                    }
                    // A binary minus; `!` and a prefix `-` (`!has`, `-1`)
                    // leave the state as it is.
                    '-' if after_operand => after_operand = false,
                    ',' => {
                        if !after_operand {
                            return at("`,` needs an operand before it".into());
                        }
                        after_operand = false;
                    }
                    '.' => after_operand = false,
                    _ => {}
                }
            }
            Kind::Pipe | Kind::Semi => {}
        }
        i += 1;
    }
    if !after_operand {
        let t = toks[toks.len() - 1];
        return Err((
            t.line,
            t.column,
            "the condition ends with an operator".into(),
        ));
    }
    Ok(())
}

fn body_has_index(stage: &[&Tok]) -> bool {
    stage.iter().any(|t| matches!(&t.kind, Kind::Word(w) if w.eq_ignore_ascii_case("index") || w.to_ascii_lowercase().starts_with("index=")))
}

type LexError = (String, usize, usize);

fn lex(lang: Language, text: &str) -> Result<Vec<Tok>, LexError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut line, mut col) = (1usize, 1usize);
    let mut i = 0;
    let mut depth = 0usize;
    let advance = |i: &mut usize, line: &mut usize, col: &mut usize, n: usize, chars: &[char]| {
        for _ in 0..n {
            if *i < chars.len() {
                if chars[*i] == '\n' {
                    *line += 1;
                    *col = 1;
                } else {
                    *col += 1;
                }
                *i += 1;
            }
        }
    };
    let starts = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        let (l0, c0) = (line, col);
        let push = |out: &mut Vec<Tok>, kind: Kind, depth: usize| {
            out.push(Tok {
                kind,
                line: l0,
                column: c0,
                depth,
            })
        };
        if c.is_whitespace() {
            advance(&mut i, &mut line, &mut col, 1, &chars);
            continue;
        }
        // Comments.
        if (lang != Language::Spl) && starts(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                advance(&mut i, &mut line, &mut col, 1, &chars);
            }
            continue;
        }
        let block = match lang {
            Language::Eql if starts(i, "/*") => Some(("/*", "*/")),
            Language::Spl if starts(i, "```") => Some(("```", "```")),
            _ => None,
        };
        if let Some((open, close)) = block {
            advance(&mut i, &mut line, &mut col, open.len(), &chars);
            loop {
                if i >= chars.len() {
                    return Err((
                        format!("comment opened with `{open}` is never closed"),
                        l0,
                        c0,
                    ));
                }
                if starts(i, close) {
                    advance(&mut i, &mut line, &mut col, close.len(), &chars);
                    break;
                }
                advance(&mut i, &mut line, &mut col, 1, &chars);
            }
            continue;
        }
        // Strings.
        let verbatim =
            lang == Language::Kql && (c == '@') && matches!(chars.get(i + 1), Some('"' | '\''));
        if c == '"' || c == '\'' || verbatim {
            if verbatim {
                advance(&mut i, &mut line, &mut col, 1, &chars);
            }
            let q = chars[i];
            let triple = lang == Language::Eql && starts(i, "\"\"\"");
            if triple {
                advance(&mut i, &mut line, &mut col, 3, &chars);
                loop {
                    if i >= chars.len() {
                        return Err(("string is never closed".into(), l0, c0));
                    }
                    if starts(i, "\"\"\"") {
                        advance(&mut i, &mut line, &mut col, 3, &chars);
                        break;
                    }
                    advance(&mut i, &mut line, &mut col, 1, &chars);
                }
            } else {
                advance(&mut i, &mut line, &mut col, 1, &chars);
                loop {
                    match chars.get(i) {
                        None | Some('\n') => return Err(("string is never closed".into(), l0, c0)),
                        Some('\\') if !verbatim => advance(&mut i, &mut line, &mut col, 2, &chars),
                        Some(&x) if x == q => {
                            advance(&mut i, &mut line, &mut col, 1, &chars);
                            // Verbatim strings escape a quote by doubling it.
                            if verbatim && chars.get(i) == Some(&q) {
                                advance(&mut i, &mut line, &mut col, 1, &chars);
                                continue;
                            }
                            break;
                        }
                        Some(_) => advance(&mut i, &mut line, &mut col, 1, &chars),
                    }
                }
            }
            push(&mut out, Kind::Str, depth);
            continue;
        }
        match c {
            '|' => push(&mut out, Kind::Pipe, depth),
            ';' => push(&mut out, Kind::Semi, depth),
            '(' | '[' | '{' => {
                push(&mut out, Kind::Open(c), depth);
                depth += 1;
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                push(&mut out, Kind::Close(c), depth);
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut w = String::new();
                while let Some(&x) = chars.get(i) {
                    // `-` joins KQL operator names such as project-away and
                    // `=` keeps SPL `index=main` together.
                    let joins = x.is_alphanumeric()
                        || x == '_'
                        || x == '.'
                        || (x == '-'
                            && lang == Language::Kql
                            && chars.get(i + 1).is_some_and(|n| n.is_alphabetic()));
                    if !joins {
                        break;
                    }
                    w.push(x);
                    advance(&mut i, &mut line, &mut col, 1, &chars);
                }
                push(&mut out, Kind::Word(w), depth);
                continue;
            }
            other => push(&mut out, Kind::Other(other), depth),
        }
        advance(&mut i, &mut line, &mut col, 1, &chars);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(lang: Language, q: &str) -> Vec<(&'static str, usize, usize)> {
        validate(lang, q)
            .into_iter()
            .map(|d| (d.code, d.line, d.column))
            .collect()
    }

    #[test]
    fn kql() {
        let k = Language::Kql;
        assert_eq!(
            codes(
                k,
                "let x = dynamic([\"a\"]);\nDeviceEvents\n| where A in (x) // c\n| project-away B"
            ),
            []
        );
        assert_eq!(codes(k, "T | where A == \"x"), [("KQL001", 1, 16)]);
        assert_eq!(codes(k, "T | where (A == 1"), [("KQL002", 1, 11)]);
        assert_eq!(codes(k, "T | where A == 1)"), [("KQL002", 1, 17)]);
        assert_eq!(codes(k, "T | | take 1"), [("KQL003", 1, 3)]);
        assert_eq!(codes(k, "| take 1"), [("KQL003", 1, 1), ("KQL004", 1, 1)]);
        assert_eq!(codes(k, "T | frobnicate"), [("KQL005", 1, 5)]);
        assert_eq!(
            codes(k, "T | where A has \"REPLACE_WITH_BEHAVIOR\""),
            [("KQL900", 1, 18)]
        );
        assert_eq!(codes(k, "T | where A == @\"C:\\x\"\"y\""), []);
        assert_eq!(codes(k, "T | where == 1"), [("KQL007", 1, 11)]);
        assert_eq!(codes(k, "T | where A =="), [("KQL007", 1, 14)]);
        assert_eq!(codes(k, "T | where A B"), [("KQL007", 1, 13)]);
        assert_eq!(
            codes(
                k,
                "T | where A !has \"x\" and B in~ (\"a\", \"b\") and not(C) and D matches regex \"x\""
            ),
            []
        );
    }

    #[test]
    fn spl() {
        let s = Language::Spl;
        assert_eq!(
            codes(s, "index=main sourcetype=x | stats count by host"),
            []
        );
        assert_eq!(codes(s, "| tstats count where index=* by host"), []);
        assert_eq!(codes(s, "sourcetype=x | stats count"), [("SPL004", 1, 1)]);
        assert_eq!(codes(s, "index=main a and b"), [("SPL006", 1, 14)]);
        assert_eq!(codes(s, "index=main | statz count"), [("SPL005", 1, 14)]);
        assert_eq!(codes(s, "index=main \"open"), [("SPL001", 1, 12)]);
        assert_eq!(codes(s, "```note``` index=main"), []);
        assert_eq!(codes(s, "| stats count"), [("SPL004", 1, 3)]);
    }

    #[test]
    fn eql() {
        let e = Language::Eql;
        assert_eq!(
            codes(e, "process where process.name == \"cmd.exe\" | head 5"),
            []
        );
        assert_eq!(
            codes(
                e,
                "sequence by host.id [process where true] [network where true]"
            ),
            []
        );
        assert_eq!(codes(e, "process.name == \"x\""), [("EQL004", 1, 1)]);
        assert_eq!(codes(e, "process where x | tally"), [("EQL005", 1, 19)]);
        assert_eq!(codes(e, "/* open process where true"), [("EQL001", 1, 1)]);
        assert_eq!(codes(e, "process where =="), [("EQL007", 1, 15)]);
        assert_eq!(
            codes(
                e,
                "process where a : \"*x*\" and b in~ (\"c\") and not d == 1"
            ),
            []
        );
    }
}
